import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import { PasswordHasher } from './password-hasher.js';
import { UsersService } from './users.service.js';

/** With ADMIN_EMAIL and ADMIN_PASSWORD set, start-up makes sure that admin exists. */
@Injectable()
export class AdminBootstrap implements OnApplicationBootstrap {
  private readonly logger = new Logger('AdminBootstrap');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly users: UsersService,
    private readonly passwords: PasswordHasher,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const admin = this.config.bootstrapAdmin;
    if (!admin) return;
    const outcome = await this.users.ensureAdmin(admin.email, () => this.passwords.hash(admin.password));
    if (outcome === 'taken-over') {
      this.logger.warn(
        `An existing account with ADMIN_EMAIL ${admin.email} was taken over by the admin bootstrap: ` +
          'its password is now ADMIN_PASSWORD, its email is marked verified, and its sessions and reset links are revoked',
      );
    } else {
      this.logger.log(`Admin ${admin.email}: ${outcome}`);
    }
  }
}
