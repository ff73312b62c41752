import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import { PasswordHasher } from './password-hasher.js';
import { AdminAccountBeingErasedError, AdminEmailReservedError, UsersService } from './users.service.js';

/**
 * With ADMIN_EMAIL and ADMIN_PASSWORD set, start-up makes sure that admin exists. An ADMIN_EMAIL
 * that is only reserved for a pending undo link of an email change (an admin who moved away from
 * it while it is still configured) is logged as an error and the app starts without the admin
 * (review 18b M2): failing every start until the reservation lapses would take the service down.
 * So is one that belongs to an account whose erasure is pending (session 19): it is not revived.
 */
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
    let outcome;
    try {
      outcome = await this.users.ensureAdmin(admin.email, () => this.passwords.hash(admin.password));
    } catch (error) {
      if (!(error instanceof AdminEmailReservedError || error instanceof AdminAccountBeingErasedError)) throw error;
      this.logger.error(`${error.message} Starting without the admin.`);
      return;
    }
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
