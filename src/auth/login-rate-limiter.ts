import { Inject, Injectable } from '@nestjs/common';
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import { tooManyRequests } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import { DYNAMODB_DOCUMENT_CLIENT, DYNAMODB_TABLE_NAME } from '../dynamo/dynamo.constants.js';
import { ENTITY, Keys } from '../dynamo/keys.js';
import { sha256 } from './tokens/token.service.js';

/**
 * Fixed-window login limits per account and per client IP, counted in DynamoDB with an atomic
 * ADD (so every instance behind a load balancer shares them) on items that expire by TTL.
 * Attempts are counted before the password is checked, so guessing is what gets limited.
 */
@Injectable()
export class LoginRateLimiter {
  constructor(
    @Inject(DYNAMODB_DOCUMENT_CLIENT) private readonly db: DynamoDBDocumentClient,
    @Inject(DYNAMODB_TABLE_NAME) private readonly tableName: string,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async hit(email: string, ip: string, now: Date = this.clock.now()): Promise<void> {
    const { loginRateWindowSeconds: window, loginRateMaxPerAccount, loginRateMaxPerIp } = this.config.auth;
    const nowSeconds = Math.floor(now.getTime() / 1000);
    const windowStart = nowSeconds - (nowSeconds % window);
    const retryAfter = windowStart + window - nowSeconds;
    // Hash the email: the counter key must not become a second copy of personal data.
    const [account, client] = await Promise.all([
      this.increment(`login#account#${sha256(email)}`, windowStart, window),
      this.increment(`login#ip#${ip}`, windowStart, window),
    ]);
    if (account > loginRateMaxPerAccount || client > loginRateMaxPerIp) {
      throw tooManyRequests(ErrorCode.TooManyLoginAttempts, 'Too many login attempts; try again later.', retryAfter);
    }
  }

  private async increment(scope: string, windowStart: number, window: number): Promise<number> {
    const result = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: Keys.rateLimit(scope, windowStart),
        UpdateExpression: 'ADD attempts :one SET #ttl = :ttl, entity = :entity',
        ExpressionAttributeNames: { '#ttl': 'ttl' },
        ExpressionAttributeValues: { ':one': 1, ':ttl': windowStart + window + 60, ':entity': ENTITY.RateLimit },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(result.Attributes?.attempts ?? 0);
  }
}
