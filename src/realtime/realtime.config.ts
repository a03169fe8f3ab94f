import { Transform } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';
import { toInt } from '../config/env-transforms';

/** The WebSocket: frames, limits, heartbeat, typing. A section of the Environment (config/environment.ts), validated once at boot. */
export class RealtimeConfig {
  @Transform(toInt)
  @IsInt()
  @Min(1_024)
  @Max(16_777_216)
  WS_MAX_FRAME_BYTES = 65_536;

  @Transform(toInt)
  @IsInt()
  @Min(65_536)
  WS_MAX_BUFFERED_BYTES = 4_194_304;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  RATE_WS_PER_SEC = 50;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1_000)
  MAX_CONNECTIONS_PER_USER = 5;

  @Transform(toInt)
  @IsInt()
  @Min(100)
  WS_HEARTBEAT_MS = 30_000;

  @Transform(toInt)
  @IsInt()
  @Min(100)
  TYPING_TTL_MS = 5_000;
}
