import { Inject, Injectable } from '@nestjs/common';
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionalCheckFailed } from '../../dynamo/dynamo-errors.js';
import { type TransactionPart, type TransactOperation, transactWrite } from '../../dynamo/transactions.js';
import { DYNAMODB_DOCUMENT_CLIENT, DYNAMODB_TABLE_NAME } from '../../dynamo/dynamo.constants.js';
import { epochSeconds } from '../../dynamo/expressions.js';
import { ENTITY, type ItemKey, Keys, OwnedIndexKeys } from '../../dynamo/keys.js';

/**
 * `email_change` (review 22a M3): the confirmation mailed to the new address of a requested email
 * change, which moves the account when used (src/users/users.service.ts `confirmEmailChange`).
 */
export type ActionTokenKind = 'password_reset' | 'email_verification' | 'email_change' | 'email_change_revert';
/** The kinds a mail request asks for; an `email_change_revert` link is minted by the notice of the change. */
export type MailRequestKind = Exclude<ActionTokenKind, 'email_change_revert'>;

export interface ActionToken {
  kind: ActionTokenKind;
  userId: string;
  /** The address the token was sent to (verification applies only while it is still the user's). */
  email: string;
  /** The password generation at issue: what links minted before `resetGeneration` existed are bound to. */
  passwordGeneration: number;
  /** The reset generation a reset link was issued at: a later reset or takeover kills it (absent on older links). */
  resetGeneration?: number;
  /**
   * An `email_change_revert` link's: the email generation its change produced (src/users/email-reverts.ts);
   * an `email_change` link's: the account's email generation when the change was asked for (a later
   * change or revert kills it).
   */
  emailGeneration?: number;
  createdAt: string;
  expiresAt: string;
}

/**
 * A link mail waiting for the stream processor: who it goes to and the state the link will be
 * bound to, never a token (the processor mints it). `email` is absent on the stand-in written when
 * nobody gets a mail (an unknown address), so that the request costs the same either way.
 */
export interface MailRequest {
  kind: MailRequestKind;
  userId: string;
  email?: string;
  passwordGeneration: number;
  /** Absent on requests written before reset generations: their link stays bound to the password generation. */
  resetGeneration?: number;
  /** An `email_change` request's: the account's email generation when it was asked for. */
  emailGeneration?: number;
  createdAt: string;
  /** The link's expiry, counted from the request: the worker's lag does not lengthen it. */
  expiresAt: string;
}

/** The mail request was not pending any more: minted before (a retry), or gone (its mail sent). */
class RequestNotPending extends Error {}

/** A derived token's item was there already: minted before (a retried notice). */
class TokenThere extends Error {}

/**
 * What a mail request's mint found (`ActionTokensRepository.mint`): `minted` now; `minted_before`,
 * by an earlier delivery whose mail is to be sent again (a retry); `gone`, the request deleted,
 * its mail sent (or refused for good) before, or expired by its `ttl`.
 */
export type MintResult = 'minted' | 'minted_before' | 'gone';

/** Single-use tokens for emailed links, stored by hash with a `ttl`, and the requests for them. */
@Injectable()
export class ActionTokensRepository {
  constructor(
    @Inject(DYNAMODB_DOCUMENT_CLIENT) private readonly db: DynamoDBDocumentClient,
    @Inject(DYNAMODB_TABLE_NAME) private readonly tableName: string,
  ) {}

  /** One PutItem; its `ttl` is the link's expiry, so a request the processor never handled goes away. */
  async requestMail(key: ItemKey, request: MailRequest): Promise<void> {
    await this.db.send(new PutCommand(this.mailRequestPut(key, request)));
  }

  /** The same write as a part of another module's transaction (an email change and its link). */
  mailRequestPart(key: ItemKey, request: MailRequest): TransactionPart {
    return { item: { Put: this.mailRequestPut(key, request) } };
  }

  private mailRequestPut(key: ItemKey, request: MailRequest) {
    return {
      TableName: this.tableName,
      Item: { ...key, entity: ENTITY.MailRequest, ttl: epochSeconds(new Date(request.expiresAt)), ...request },
      ConditionExpression: 'attribute_not_exists(PK)',
    };
  }

  /**
   * Mints the link of a mail request: stores the token's hash and marks the request minted
   * (`mintedAt`) in one transaction conditioned on the request being there and not minted yet.
   * The token is derived from the request (ActionLinksService), so a retry whose mail is still to
   * be sent finds `minted_before` and mails the same link, and the marker keeps that retry from
   * putting back a token used since. A request found not pending costs one consistent GetItem more
   * (a retry or a replay only), to tell `minted_before` from `gone`.
   */
  async mint(hash: string, token: ActionToken, request: ItemKey, at: Date): Promise<MintResult> {
    try {
      await transactWrite(this.db, [
        {
          item: {
            Update: {
              TableName: this.tableName,
              Key: request,
              UpdateExpression: 'SET mintedAt = :at',
              ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(mintedAt)',
              ExpressionAttributeValues: { ':at': at.toISOString() },
            },
          },
          onConditionFailed: () => new RequestNotPending(),
        },
        { item: { Put: this.tokenPut(hash, token) } },
      ]);
      return 'minted';
    } catch (error) {
      if (!(error instanceof RequestNotPending)) throw error;
    }
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: request, ConsistentRead: true, ProjectionExpression: 'PK' }),
    );
    return Item ? 'minted_before' : 'gone';
  }

  /**
   * A mail request whose mail was sent (or refused for good) is deleted: a later delivery of its
   * record (a replay, a second worker) finds it `gone` and sends nothing. One DeleteItem (1 WCU);
   * with `token`, the link no mail carries is deleted too (a second DeleteItem).
   */
  async settle(request: ItemKey, unsentToken?: string): Promise<void> {
    await Promise.all([
      this.db.send(new DeleteCommand({ TableName: this.tableName, Key: request })),
      ...(unsentToken === undefined
        ? []
        : [this.db.send(new DeleteCommand({ TableName: this.tableName, Key: Keys.actionToken(unsentToken) }))]),
    ]);
  }

  /**
   * Stores a token minted without a mail request (an email change's undo link, minted by the
   * notice of the change): a conditional Put of its hash, in one transaction with `stillUsable`, a
   * check that what the token acts on is still there (the change's reservation: session 20), whose
   * own error is thrown when it fails (first: it wins over the Put's). Such a token is derived from
   * what it is bound to (review 18b L4), so a second mint of one change's link (a retried notice)
   * finds its own item there: false, and nothing is written.
   */
  async putOnce(hash: string, token: ActionToken, stillUsable: TransactionPart): Promise<boolean> {
    try {
      await transactWrite(this.db, [
        stillUsable,
        { item: { Put: this.tokenPut(hash, token) }, onConditionFailed: () => new TokenThere() },
      ]);
      return true;
    } catch (error) {
      if (error instanceof TokenThere) return false;
      throw error;
    }
  }

  private tokenPut(hash: string, token: ActionToken) {
    return {
      TableName: this.tableName,
      Item: {
        ...Keys.actionToken(hash),
        ...OwnedIndexKeys.actionToken(token.userId, token.createdAt),
        entity: ENTITY.ActionToken,
        ttl: epochSeconds(new Date(token.expiresAt)),
        ...token,
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    };
  }

  /**
   * Consumes a token: deletes it only if it exists, is of the expected kind and has not
   * expired, and returns what it held. A second use, a wrong kind or an expired token all
   * give undefined, and a token can never be used twice, even concurrently.
   */
  async consume(hash: string, kind: ActionTokenKind, now: Date): Promise<ActionToken | undefined> {
    try {
      const result = await this.db.send(
        new DeleteCommand({ ...this.usable(hash, kind, now), ReturnValues: 'ALL_OLD' }),
      );
      return result.Attributes ? tokenOf(result.Attributes) : undefined;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return undefined;
      throw error;
    }
  }

  /**
   * A token still usable (it exists, is of `kind` and has not expired), read without using it up
   * (strongly consistent): for a link whose use is one transaction with `consumePart`.
   */
  async find(hash: string, kind: ActionTokenKind, now: Date): Promise<ActionToken | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: Keys.actionToken(hash), ConsistentRead: true }),
    );
    const item = result.Item;
    return item && item.kind === kind && String(item.expiresAt) > now.toISOString() ? tokenOf(item) : undefined;
  }

  /**
   * The token's use as a part of the transaction that acts on it (review 18b L1): the same
   * conditional Delete as `consume`, so the link is used up only if that transaction commits, and
   * once; `onUsed` is the error when it is no longer usable (used meanwhile, expired).
   */
  consumePart(hash: string, kind: ActionTokenKind, now: Date, onUsed: () => Error): TransactOperation {
    return { item: { Delete: this.usable(hash, kind, now) }, onConditionFailed: onUsed };
  }

  private usable(hash: string, kind: ActionTokenKind, now: Date) {
    return {
      TableName: this.tableName,
      Key: Keys.actionToken(hash),
      ConditionExpression: 'attribute_exists(PK) AND kind = :kind AND expiresAt > :now',
      ExpressionAttributeValues: { ':kind': kind, ':now': now.toISOString() },
    };
  }
}

function tokenOf(item: Record<string, unknown>): ActionToken {
  return {
    kind: item.kind as ActionTokenKind,
    userId: item.userId as string,
    email: item.email as string,
    passwordGeneration: Number(item.passwordGeneration ?? 0),
    ...(item.resetGeneration === undefined ? {} : { resetGeneration: Number(item.resetGeneration) }),
    ...(item.emailGeneration === undefined ? {} : { emailGeneration: Number(item.emailGeneration) }),
    createdAt: item.createdAt as string,
    expiresAt: item.expiresAt as string,
  };
}
