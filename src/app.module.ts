import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { AuthModule } from './auth/auth.module';
import { JwtAuthGuard } from './auth/jwt-auth.guard';
import type { Environment } from './config/environment';
import { ConversationsModule } from './conversations/conversations.module';
import { DatabaseModule } from './database/database.module';
import { EventsModule } from './events/events.module';
import { HealthModule } from './health/health.module';
import { MessagesModule } from './messages/messages.module';
import { MetricsModule } from './metrics/metrics.module';
import { RealtimeModule } from './realtime/realtime.module';
import { RedisModule } from './redis/redis.module';
import { RateLimitGuard } from './rate-limit/rate-limit.guard';
import { RateLimitModule } from './rate-limit/rate-limit.module';
import { SyncModule } from './sync/sync.module';
import { UsersModule } from './users/users.module';

@Module({})
export class AppModule {
  /**
   * `env` is validated once, before the app is built (main.ts or a test), and
   * read by each module through ConfigService<ItsSection, true> (see config/environment.ts).
   */
  static forRoot(env: Environment): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, skipProcessEnv: true, load: [() => ({ ...env })] }),
        DatabaseModule,
        RedisModule,
        RateLimitModule,
        MetricsModule,
        UsersModule,
        AuthModule,
        EventsModule,
        ConversationsModule,
        MessagesModule,
        RealtimeModule,
        SyncModule,
        HealthModule,
      ],
      providers: [
        // Order matters: limit first (a flood of bad tokens is limited too), then authenticate.
        // RateLimitGuard is @nestjs/throttler's guard with Parley's trackers and headers (rate-limit/).
        { provide: APP_GUARD, useClass: RateLimitGuard },
        { provide: APP_GUARD, useClass: JwtAuthGuard },
      ],
    };
  }
}
