import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DeleteCommand, type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import { tooManyRequests } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import type { RateRule } from '../config/app-config.js';
import { DYNAMODB_DOCUMENT_CLIENT, DYNAMODB_TABLE_NAME } from './dynamo.constants.js';
import { isConditionalCheckFailed } from './dynamo-errors.js';
import { ENTITY, Keys } from './keys.js';
import { itemAt, type ReadPart } from './read-parts.js';
import type { TransactionPart } from './transactions.js';

/** One limit applied to one subject (an IP, an email, an account id, a session id). */
export interface RateCheck {
  rule: RateRule;
  subject: string;
}

/** Where a subject's counter stands in the current window. */
export interface RateWindow {
  count: number;
  /** Seconds until the window ends: what `Retry-After` says. */
  retryAfter: number;
}

/**
 * The one request limiter: fixed windows counted in DynamoDB with an atomic `ADD` on items
 * that expire by TTL, so every instance behind a load balancer shares the counts and nothing
 * lives in process memory. Subjects are hashed: a counter key must not become a second copy
 * of an email or an IP address. A rule with `max` 0 is off and costs no call.
 */
@Injectable()
export class RateLimiter {
  constructor(
    @Inject(DYNAMODB_DOCUMENT_CLIENT) private readonly db: DynamoDBDocumentClient,
    @Inject(DYNAMODB_TABLE_NAME) private readonly tableName: string,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /**
   * Counts one event against every check (in parallel) and refuses with 429, `Retry-After`
   * and `code` when any of them is now over its limit. Refused events count too, so hammering
   * a limit does not reopen it.
   */
  async consume(
    checks: RateCheck[],
    code: ErrorCode = ErrorCode.TooManyRequests,
    now = this.clock.now(),
  ): Promise<void> {
    const active = checks.filter((check) => check.rule.max > 0);
    const windows = await Promise.all(active.map((check) => this.add(check, now)));
    const over = windows.map((w, i) => ({ ...w, max: active[i].rule.max })).filter((w) => w.count > w.max);
    if (over.length > 0) throw this.refusal(code, Math.max(...over.map((w) => w.retryAfter)));
  }

  /**
   * One event as a transaction part, counted only if the transaction it joins commits and only
   * while the window has room (`attempts < max`); a full window cancels the transaction with the
   * 429 of `code`. For a limit on an effect that must not be used up by attempts that fail on
   * their own condition (a rename losing its If-Match race is 412, and counts nothing). Unlike
   * `consume`, refusals do not count. A rule that is off adds nothing.
   */
  countOnCommit({ rule, subject }: RateCheck, code: ErrorCode, now = this.clock.now()): TransactionPart {
    if (rule.max <= 0) return [];
    const { start, retryAfter } = this.window(rule, now);
    const increment = this.countOne(rule, subject, start);
    return {
      item: {
        Update: {
          ...increment,
          ConditionExpression: 'attribute_not_exists(attempts) OR attempts < :max',
          ExpressionAttributeValues: { ...increment.ExpressionAttributeValues, ':max': rule.max },
        },
      },
      onConditionFailed: () => this.refusal(code, retryAfter),
    };
  }

  /**
   * Counts `count` events at once, only while they all fit (`attempts + count <= max`); otherwise
   * refuses with the 429 of `code` and counts nothing, so a request asking for more than is left
   * can still ask for less. One conditional UpdateItem; a rule that is off, or a count of 0, costs none.
   */
  async take(check: RateCheck, count: number, code: ErrorCode, now = this.clock.now()): Promise<void> {
    if (!(await this.tryTake(check, count, now))) throw this.refusal(code, this.window(check.rule, now).retryAfter);
  }

  /**
   * `take` answering false instead of 429 when the events do not fit (nothing counted then): for a
   * caller that has somewhere else to turn (a sign-in past the failure slots, review 22a M4).
   */
  async tryTake({ rule, subject }: RateCheck, count: number, now = this.clock.now()): Promise<boolean> {
    if (rule.max <= 0 || count <= 0) return true;
    if (count > rule.max) return false;
    const { start } = this.window(rule, now);
    const increment = this.countOne(rule, subject, start);
    try {
      await this.db.send(
        new UpdateCommand({
          ...increment,
          ConditionExpression: 'attribute_not_exists(attempts) OR attempts <= :room',
          ExpressionAttributeValues: {
            ...increment.ExpressionAttributeValues,
            ':one': count,
            ':room': rule.max - count,
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /**
   * Gives back `count` events `take` counted at `now` (pass the same instant: the same window),
   * when the work they were taken for failed after all. Never below zero (conditional; a window
   * gone or already emptied takes nothing back). One UpdateItem; a rule that is off costs none.
   */
  async giveBack({ rule, subject }: RateCheck, count: number, now: Date): Promise<void> {
    if (rule.max <= 0 || count <= 0) return;
    const { start } = this.window(rule, now);
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: Keys.rateLimit(this.scope(rule, subject), start),
          UpdateExpression: 'ADD attempts :minus',
          ConditionExpression: 'attempts >= :count',
          ExpressionAttributeValues: { ':minus': -count, ':count': count },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  /** Adds one event to the subject's window without judging it; the new count. */
  async add({ rule, subject }: RateCheck, now = this.clock.now()): Promise<RateWindow> {
    const { start, retryAfter } = this.window(rule, now);
    const result = await this.db.send(
      new UpdateCommand({ ...this.countOne(rule, subject, start), ReturnValues: 'UPDATED_NEW' }),
    );
    return { count: Number(result.Attributes?.attempts ?? 0), retryAfter };
  }

  /**
   * The current counts of several checks, as a part of another strongly consistent read (a
   * sign-in reads the failure counters with the email item, in one call). Nothing is counted.
   */
  peekPart(checks: RateCheck[], now = this.clock.now()): ReadPart<RateWindow[]> {
    const keys = checks.map(({ rule, subject }) =>
      Keys.rateLimit(this.scope(rule, subject), this.window(rule, now).start),
    );
    // A throttled key comes back unprocessed; counting it as zero only errs on the side of the owner.
    return {
      keys,
      decode: (items) =>
        keys.map((key, i) => ({
          count: Number(itemAt(items, key)?.attempts ?? 0),
          retryAfter: this.window(checks[i].rule, now).retryAfter,
        })),
    };
  }

  /** Clears the subject's current window (a successful sign-in clears the failures). */
  async reset({ rule, subject }: RateCheck, now = this.clock.now()): Promise<void> {
    await this.db.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: Keys.rateLimit(this.scope(rule, subject), this.window(rule, now).start),
      }),
    );
  }

  /** The 429 a limit answers with. */
  refusal(code: ErrorCode, retryAfter: number) {
    const detail =
      code === ErrorCode.TooManyLoginAttempts
        ? 'Too many login attempts; try again later.'
        : 'Too many requests; try again later.';
    return tooManyRequests(code, detail, Math.max(1, retryAfter));
  }

  /** `attempts + 1` on the subject's window item (created by the first), expiring after the window. */
  private countOne(rule: RateRule, subject: string, start: number) {
    return {
      TableName: this.tableName,
      Key: Keys.rateLimit(this.scope(rule, subject), start),
      UpdateExpression: 'ADD attempts :one SET #ttl = :ttl, entity = :entity',
      ExpressionAttributeNames: { '#ttl': 'ttl' },
      ExpressionAttributeValues: {
        ':one': 1,
        ':ttl': start + rule.windowSeconds + 60,
        ':entity': ENTITY.RateLimit,
      } as Record<string, number | string>,
    };
  }

  private window(rule: RateRule, now: Date): { start: number; retryAfter: number } {
    const nowSeconds = Math.floor(now.getTime() / 1000);
    const start = nowSeconds - (nowSeconds % rule.windowSeconds);
    return { start, retryAfter: start + rule.windowSeconds - nowSeconds };
  }

  private scope(rule: RateRule, subject: string): string {
    return `${rule.name}#${createHash('sha256').update(subject).digest('base64url')}`;
  }
}
