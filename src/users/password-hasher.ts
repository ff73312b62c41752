import { Inject, Injectable } from '@nestjs/common';
import bcrypt from 'bcrypt';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';

/** bcrypt with the configured cost (12 by default; tests use 4). */
@Injectable()
export class PasswordHasher {
  /** Compared against when there is no user, so an unknown email costs the same time as a wrong password. */
  private readonly dummyHash: string;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.dummyHash = bcrypt.hashSync('not-a-real-password-just-for-timing', config.auth.bcryptCost);
  }

  hash(password: string): Promise<string> {
    return bcrypt.hash(password, this.config.auth.bcryptCost);
  }

  /** True when the password matches; with no hash it does the same work and answers false. */
  async verify(password: string, hash: string | undefined): Promise<boolean> {
    const matches = await bcrypt.compare(password, hash ?? this.dummyHash);
    return hash !== undefined && matches;
  }
}
