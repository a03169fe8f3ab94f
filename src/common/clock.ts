import { Injectable } from '@nestjs/common';

/**
 * The time, as one provider: what counts windows reads it here, so a test can move
 * it (Test.createTestingModule(...).overrideProvider(Clock)) instead of waiting.
 */
@Injectable()
export class Clock {
  now(): number {
    return Date.now();
  }
}
