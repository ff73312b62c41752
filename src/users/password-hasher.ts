import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import bcrypt from 'bcrypt';
import { Limiter, QueueFullError, QueueWaitAbortedError } from '../common/concurrency/limiter.js';
import { BcryptWorkers } from './bcrypt-workers.js';
import { serviceUnavailable } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';

/**
 * Password checks allowed to wait for a slot; beyond that a sign-in is `503 server_busy`. Each
 * waits at most `PASSWORD_HASH_MAX_WAIT_MS` too: a client has given up long before a place at the
 * back of a long queue comes up, and the check would then only take CPU from those still waiting.
 */
const MAX_WAITING = 1000;

/**
 * bcrypt with the configured cost (12 by default; tests use 4), through a limiter of
 * `PASSWORD_HASH_CONCURRENCY` slots (default: the cores less one), each slot a worker thread
 * running at a lowered CPU priority (`PASSWORD_HASH_NICE`). Without the limit a burst of
 * sign-ins takes every core and libuv's pool, and probes, cached reads and DynamoDB I/O wait
 * behind it; without the lower priority the one busy core still slows the event loop's tail
 * (measured in docs/reliability.md). With both, sign-ins queue and use only spare CPU.
 */
@Injectable()
export class PasswordHasher implements OnApplicationShutdown {
  /** Compared against when there is no user, so an unknown email costs the same time as a wrong password. */
  private readonly dummyHash: string;
  readonly limiter: Limiter;
  readonly workers: BcryptWorkers;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.dummyHash = bcrypt.hashSync('not-a-real-password-just-for-timing', config.auth.bcryptCost);
    this.limiter = new Limiter('password hashing', config.passwordHashConcurrency, MAX_WAITING);
    this.workers = new BcryptWorkers(config.passwordHashConcurrency, config.passwordHashNice);
  }

  /** After the HTTP server has closed, so sign-ins still in flight at shutdown finish first. */
  onApplicationShutdown(): Promise<void> {
    return this.workers.close();
  }

  hash(password: string): Promise<string> {
    return this.limited(() => this.workers.hash(password, this.config.auth.bcryptCost));
  }

  /** True when the password matches; with no hash it does the same work and answers false. */
  async verify(password: string, hash: string | undefined): Promise<boolean> {
    const matches = await this.limited(() => this.workers.compare(password, hash ?? this.dummyHash));
    return hash !== undefined && matches;
  }

  private async limited<T>(work: () => Promise<T>): Promise<T> {
    try {
      // The bound's timer exists only while the check waits (most find a free slot).
      return await this.limiter.run(work, undefined, this.config.passwordHashMaxWaitMs);
    } catch (error) {
      if (error instanceof QueueFullError || error instanceof QueueWaitAbortedError) {
        throw serviceUnavailable(ErrorCode.ServerBusy, 'Too many password checks are waiting; retry shortly.', 1);
      }
      throw error;
    }
  }
}
