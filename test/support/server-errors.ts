import type { DestinationStream } from 'pino';

/**
 * Docs/protocol.md §3: 500 means a bug. Every server a test starts (in-process apps and
 * spawned processes alike) logs here; a line at level error or above, or an
 * access line with a 5xx status other than 503, fails the test during which it was written
 * (see no-server-errors.setup.ts).
 */
export interface ServerErrorLine {
  source: string;
  line: string;
}

const ERROR_LEVEL = 50;
const recorded: ServerErrorLine[] = [];

export function recordServerLogLine(source: string, line: string): void {
  let entry: { level?: number; res?: { statusCode?: number } };
  try {
    entry = JSON.parse(line) as typeof entry;
  } catch {
    return; // not one of our JSON lines (tsc output, a configuration error on stderr)
  }
  const status = entry.res?.statusCode ?? 0;
  // 503 is the deliberate "retry later" of an outage; every other 5xx is a bug.
  const isError = (entry.level ?? 0) >= ERROR_LEVEL || (status >= 500 && status !== 503);
  if (isError) recorded.push({ source, line: line.trim() });
}

/** A pino destination that records error lines of one server, and hands every line to `onLine`. */
export function serverLogDestination(source: string, onLine?: (line: string) => void): DestinationStream {
  return {
    write: (line: string) => {
      recordServerLogLine(source, line);
      onLine?.(line);
    },
  };
}

/** The error lines recorded since the last call. */
export function takeServerErrors(): ServerErrorLine[] {
  return recorded.splice(0);
}
