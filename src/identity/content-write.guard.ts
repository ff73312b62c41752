import {
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  UseGuards,
  applyDecorators,
} from '@nestjs/common';
import type { Request } from 'express';
import type { AuthUser } from './auth-user.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import { RateLimiter } from '../dynamo/rate-limiter.js';
import { ApiProblemResponses } from '../http/api-problem-responses.decorator.js';
import { unauthorized } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';

/**
 * Counts a content write (post, comment, like) against the caller's per-minute budget,
 * CONTENT_RATE_LIMIT_PER_MINUTE, shared by all of them. Staff are exempt: moderation must not
 * stall behind a limit meant for spam. Runs after the guard that authenticates the route (the
 * global one natively; ConduitAuthGuard, before it in the same list, under /api), and fails closed:
 * a request that reaches it without a user is refused (401), never let through uncounted (review
 * 19a, H1: Conduit's guards once ran in the other order, and no Conduit write was ever counted).
 */
@Injectable()
export class ContentWriteGuard implements CanActivate {
  constructor(
    private readonly limiter: RateLimiter,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const user = context.switchToHttp().getRequest<Request & { user?: AuthUser }>().user;
    if (!user) throw unauthorized(ErrorCode.MissingToken, 'A content write needs an authenticated user.');
    if (user.role === 'admin' || user.role === 'moderator') return true;
    await this.limiter.consume([{ rule: this.config.rateLimits.contentPerAccount, subject: user.userId }]);
    return true;
  }
}

/** Marks a route as a content write under the shared per-account limit (429 when over). */
export const ContentWrite = () => applyDecorators(UseGuards(ContentWriteGuard), ApiProblemResponses(429));
