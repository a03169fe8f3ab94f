import { Injectable, OnModuleInit } from '@nestjs/common';
import argon2 from 'argon2';

/** argon2id with OWASP's minimum profile (19 MiB, 2 passes, 1 lane). */
const OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

@Injectable()
export class PasswordHasher implements OnModuleInit {
  /** Verified against for unknown users so that timing does not reveal which names exist. */
  private dummyHash: Promise<string>;

  onModuleInit(): void {
    this.dummyHash = this.hash('parley-timing-equaliser');
  }

  hash(password: string): Promise<string> {
    return argon2.hash(password, OPTIONS);
  }

  /** False for an unknown user (`hash` undefined), after the same amount of work. */
  async verify(hash: string | undefined, password: string): Promise<boolean> {
    const matches = await argon2.verify(hash ?? (await this.dummyHash), password).catch(() => false);
    return hash !== undefined && matches;
  }
}
