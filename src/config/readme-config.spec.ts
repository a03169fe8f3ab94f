import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { environmentVariableNames, validateEnvironment } from './environment';

/**
 * The README's configuration table is what operators read: it must name every
 * variable the Environment validates, with its default, and nothing else. The
 * names and defaults come from the same place as .env.example's test
 * (environment.spec.ts): the config sections, through environmentVariableNames()
 * and validateEnvironment({}).
 *
 * Table format, under `## Configuration`: `| variable | default | meaning |`; a row
 * may name several variables (`` `A` / `B` ``) with as many defaults (`` `1` / `2` ``).
 * A default is its first code span (`` `10` ``), or starts with "unset" or "empty"
 * for a variable without one (`.env.example` has `X=`); the rest of the cell may explain.
 */
interface Row {
  names: string[];
  defaults: string[];
}

function configurationRows(markdown: string): Row[] {
  const section = markdown.split(/^## /m).find((part) => part.startsWith('Configuration\n'));
  if (!section) throw new Error('README.md has no "## Configuration" section');
  const lines = section.split('\n');
  const header = lines.findIndex((line) => /^\|\s*variable\s*\|\s*default\s*\|/.test(line));
  if (header < 0) throw new Error('The Configuration section has no "| variable | default | ... |" table');
  const rows: Row[] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    // Cells split on unescaped pipes (a `\|` inside a cell stays in it).
    const [variables, defaults] = line.split(/(?<!\\)\|/).slice(1, 3);
    const names = [...variables.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((match) => match[1]);
    rows.push({ names, defaults: defaults.split(' / ').map(documentedDefault) });
  }
  return rows;
}

/** What a default cell says: the value of its first code span, '' for "unset"/"empty", else the cell itself. */
function documentedDefault(cell: string): string {
  const text = cell.trim();
  if (/^(unset|empty)\b/i.test(text)) return '';
  const code = /^`([^`]*)`/.exec(text);
  return code ? code[1] : text;
}

describe("README's configuration table", () => {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const rows = configurationRows(readme);
  const documented = rows.flatMap((row) => row.names);

  it('has one default for each variable of a row', () => {
    const mismatched = rows.filter((row) => row.names.length !== row.defaults.length || !row.names.length);
    expect(mismatched).toEqual([]);
  });

  it('names every variable of the config once, and nothing else', () => {
    const names = environmentVariableNames();
    expect(names.filter((name) => !documented.includes(name))).toEqual([]); // missing rows
    expect(documented.filter((name) => !names.includes(name))).toEqual([]); // rows of no variable
    expect(documented.filter((name, i) => documented.indexOf(name) !== i)).toEqual([]); // listed twice
  });

  it("gives each variable the config's default (the one .env.example lists)", () => {
    const defaults = validateEnvironment({}) as unknown as Record<string, unknown>;
    const expected: Record<string, string> = {};
    const actual: Record<string, string> = {};
    for (const row of rows) {
      row.names.forEach((name, i) => {
        if (!environmentVariableNames().includes(name)) return; // reported by the test above
        expected[name] = defaults[name] === undefined ? '' : String(defaults[name]);
        actual[name] = row.defaults[i] ?? '(no default cell)';
      });
    }
    expect(actual).toEqual(expected);
  });
});
