/**
 * `npm run migration:run | migration:revert | migration:generate <Name>` against
 * DATABASE_URL, or the embedded PostgreSQL when it is unset (as `npm start` does).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDataSource } from '../../ormconfig';
import { ConfigurationError } from '../config/environment';
import { loadEnvironment } from '../config/load-environment';
import { resolveDatabase } from './database-url';

async function main(): Promise<void> {
  const [command, name] = process.argv.slice(2);
  if (
    !['run', 'revert', 'generate'].includes(command) ||
    (command === 'generate' && !/^[A-Z][A-Za-z0-9]*$/.test(name ?? ''))
  ) {
    console.error('usage: migration-cli run | revert | generate <PascalCaseName>');
    process.exitCode = 2;
    return;
  }
  const env = loadEnvironment();
  const database = await resolveDatabase(env, (level, message) => level === 'warn' && console.warn(message));
  const dataSource = createDataSource(database.url, 2);
  await dataSource.initialize();
  try {
    if (command === 'run') {
      const done = await dataSource.runMigrations({ transaction: 'each' });
      console.log(done.length ? `applied: ${done.map((m) => m.name).join(', ')}` : 'no pending migrations');
    } else if (command === 'revert') {
      await dataSource.undoLastMigration({ transaction: 'each' });
      console.log('reverted the last migration');
    } else {
      if (await dataSource.showMigrations()) throw new Error('pending migrations: run `npm run migration:run` first');
      const { upQueries, downQueries } = await dataSource.driver.createSchemaBuilder().log();
      if (!upQueries.length) {
        console.log('entities and migrations agree: nothing to generate');
        return;
      }
      const timestamp = Date.now();
      const file = join(process.cwd(), 'migrations', `${timestamp}-${name}.ts`);
      const lines = (queries: typeof upQueries) =>
        queries.map((q) => `    await queryRunner.query(${JSON.stringify(q.query)});`).join('\n');
      writeFileSync(
        file,
        `import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ${name}${timestamp} implements MigrationInterface {
  name = '${name}${timestamp}';

  async up(queryRunner: QueryRunner): Promise<void> {
${lines(upQueries)}
  }

  async down(queryRunner: QueryRunner): Promise<void> {
${lines([...downQueries].reverse())}
  }
}
`,
      );
      console.log(`wrote ${file}`);
    }
  } finally {
    await dataSource.destroy();
    await database.embedded?.stop();
  }
}

main().catch((error) => {
  console.error(error instanceof ConfigurationError ? error.message : error);
  process.exitCode = 1;
});
