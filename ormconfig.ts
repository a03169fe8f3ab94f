import { join } from 'node:path';
import { DataSource, DataSourceOptions } from 'typeorm';
import { RefreshToken } from './src/auth/entities/refresh-token.entity';
import { Conversation } from './src/conversations/entities/conversation.entity';
import { Participant } from './src/conversations/entities/participant.entity';
import { Message } from './src/messages/entities/message.entity';
import { Reaction } from './src/messages/entities/reaction.entity';
import { User } from './src/users/entities/user.entity';

/**
 * The one TypeORM data source definition, used by the app (DatabaseModule), by
 * `npm run migration:*` and by the tests. Schema changes go through migrations only.
 */
export function dataSourceOptions(url: string, poolSize = 10): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: [User, RefreshToken, Conversation, Participant, Message, Reaction],
    migrations: [join(__dirname, 'migrations', '*.{js,ts}')],
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    // gen_random_uuid() is built in since PostgreSQL 13: no extension to install.
    uuidExtension: 'pgcrypto',
    installExtensions: false,
    // Connections once opened stay open (min = max): no reconnect (a backend start and a
    // SCRAM handshake each) when traffic returns after a lull, and no idle timer armed
    // on every release.
    extra: { max: poolSize, min: poolSize, connectionTimeoutMillis: 5_000, application_name: 'parley' },
  };
}

export function createDataSource(url: string, poolSize?: number): DataSource {
  return new DataSource(dataSourceOptions(url, poolSize));
}
