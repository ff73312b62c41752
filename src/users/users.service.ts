import { Injectable } from '@nestjs/common';
import { DomainError, notFound } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { newId } from '../common/ids.js';
import { normalizeEmail } from '../dynamo/keys.js';
import type { Profile, User, UserAggregate, UserWithPassword } from './user.entity.js';
import { usernameFromEmail, withRandomSuffix } from './username.js';
import { UsersRepository } from './users.repository.js';
import type { TransactItem } from '../dynamo/transactions.js';

export interface NewUser {
  email: string;
  passwordHash: string;
  username?: string;
  firstName?: string;
  lastName?: string;
}

/** How often a derived username gets a new random suffix before giving up. */
const DERIVED_USERNAME_ATTEMPTS = 5;

@Injectable()
export class UsersService {
  constructor(private readonly users: UsersRepository) {}

  /**
   * Creates a `pending` user with an empty profile; `signIn` adds items (the first session)
   * to the same transaction. A username the caller chose must be free
   * (409 otherwise); one derived from the email gets a random suffix when taken.
   */
  async create(input: NewUser, signIn?: (user: User) => TransactItem[]): Promise<User> {
    const derived = input.username === undefined;
    let username = input.username ?? usernameFromEmail(input.email);
    for (let attempt = 1; ; attempt++) {
      const now = new Date().toISOString();
      const user: UserWithPassword = {
        id: newId(),
        email: normalizeEmail(input.email),
        username,
        firstName: input.firstName,
        lastName: input.lastName,
        role: 'user',
        status: 'pending',
        emailVerified: false,
        // Registration through the API signs the user in at once (the first session is in the same transaction).
        ...(signIn ? { lastLoginAt: now, loginCount: 1 } : { loginCount: 0 }),
        createdAt: now,
        updatedAt: now,
        version: 1,
        passwordHash: input.passwordHash,
      };
      const profile: Profile = { userId: user.id, updatedAt: now, version: 1 };
      const { passwordHash: _hash, ...created } = user;
      try {
        await this.users.create(user, profile, signIn ? signIn(created) : []);
        return created;
      } catch (error) {
        const usernameTaken = error instanceof DomainError && error.code === ErrorCode.UsernameTaken;
        if (!usernameTaken || !derived || attempt >= DERIVED_USERNAME_ATTEMPTS) throw error;
        username = withRandomSuffix(usernameFromEmail(input.email));
      }
    }
  }

  /** A user that the public may see: not deleted, not deactivated. */
  async getPublic(userId: string): Promise<UserAggregate> {
    const aggregate = await this.users.findAggregate(userId);
    if (!aggregate || aggregate.user.status === 'inactive') {
      throw notFound(ErrorCode.UserNotFound, 'No such user.');
    }
    return aggregate;
  }
}
