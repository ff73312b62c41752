import { Inject, Injectable } from '@nestjs/common';
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { conflict, DomainError } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { DYNAMODB_DOCUMENT_CLIENT, DYNAMODB_TABLE_NAME } from '../dynamo/dynamo.constants.js';
import { ENTITY, Keys } from '../dynamo/keys.js';
import { APP_CONFIG } from '../config/config.constants.js';
import type { AppConfig } from '../config/app-config.js';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import type { TransactOperation } from '../dynamo/transactions.js';
import { UniqueValues } from '../dynamo/uniqueness.js';
import { ID_GENERATOR, type IdGenerator } from '../common/ids.js';
import { isSingleScript } from '../common/validation/identifiers.js';
import { slugify, withSuffix } from './slugify.js';

/** What a slug names: each kind has its own namespace. */
export type SlugKind = 'category' | 'tag' | 'post';

const ATTEMPTS = 12;

/**
 * Unique slugs for categories, tags and posts. A slug is owned through a uniqueness item
 * written in the caller's transaction. An explicit slug that is taken is a 409; a slug
 * generated from a name gets `-2`, `-3`... from an atomic per-base counter, so concurrent
 * creations of one name get distinct slugs at once instead of colliding round after round.
 */
@Injectable()
export class SlugService {
  /** Slug owners this instance read recently (tags and categories only): `kind|slug` -> owner and expiry. */
  private readonly owners = new Map<string, { ownerId: string; until: number }>();
  /** Bumped by every `forget`: a read that was in flight across one does not cache what it read. */
  private forgets = 0;
  /** The uniqueness items of each kind's slugs. */
  private readonly unique: Record<SlugKind, UniqueValues>;

  constructor(
    @Inject(DYNAMODB_DOCUMENT_CLIENT) private readonly db: DynamoDBDocumentClient,
    @Inject(DYNAMODB_TABLE_NAME) private readonly tableName: string,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
  ) {
    const slugs = (kind: SlugKind) =>
      new UniqueValues({
        tableName,
        key: (slug) => Keys.uniqueSlug(kind, slug),
        kind: `${kind}-slug`,
        ownerAttribute: 'ownerId',
        taken: (slug) => conflict(ErrorCode.SlugTaken, `The slug "${slug}" is taken.`),
        lost: (slug) => conflict(ErrorCode.SlugTaken, `The slug "${slug}" changed hands; retry.`),
      });
    this.unique = { category: slugs('category'), tag: slugs('tag'), post: slugs('post') };
  }

  /**
   * The owner of a tag's or category's slug, remembered for `SLUG_CACHE_SECONDS`, so that a feed
   * page by slug is one Query, not a GetItem and a Query. Only found owners are kept (a slug
   * claimed a moment ago is seen at once); this instance forgets a slug once its release has
   * committed (`forget`), other instances serve the old owner for up to the setting. The cache is
   * bounded: it is cleared when it reaches 10,000 slugs.
   */
  async cachedOwnerOf(kind: 'tag' | 'category', slug: string): Promise<string | undefined> {
    const seconds = this.config.slugCacheSeconds;
    if (seconds === 0) return this.ownerOf(kind, slug);
    const key = `${kind}|${slug}`;
    const now = this.clock.now().getTime();
    const known = this.owners.get(key);
    if (known && known.until > now) return known.ownerId;
    const forgets = this.forgets;
    const ownerId = await this.ownerOf(kind, slug);
    if (ownerId === undefined || forgets !== this.forgets) {
      if (ownerId === undefined) this.owners.delete(key);
      return ownerId;
    }
    if (this.owners.size >= 10_000) this.owners.clear();
    this.owners.set(key, { ownerId, until: now + seconds * 1000 });
    return ownerId;
  }

  /** The transaction part that claims `slug` for `ownerId` (409 `slug_taken` when taken). */
  claim(kind: SlugKind, slug: string, ownerId: string): TransactOperation {
    return this.unique[kind].claim(slug, ownerId);
  }

  /** The id of whatever owns a slug (strongly consistent). */
  ownerOf(kind: SlugKind, slug: string): Promise<string | undefined> {
    return this.unique[kind].ownerOf(this.db, slug);
  }

  /**
   * The transaction part that gives up `slug`, on condition that `ownerId` still owns it.
   * The caller calls `forget` once the transaction has committed (not before: a feed request in
   * between would cache the old owner again; and a failed transaction leaves the slug owned).
   */
  release(kind: SlugKind, slug: string, ownerId: string): TransactOperation {
    return this.unique[kind].release(slug, ownerId);
  }

  /** The parts that move `ownerId` from one slug to another (none when it is the same); `forget` the old one after the commit. */
  swap(kind: SlugKind, from: string, to: string | undefined, ownerId: string): TransactOperation[] {
    return to ? this.unique[kind].swap(from, to, ownerId) : [];
  }

  /** Drops a released slug from this instance's cache: for after the release's commit. */
  forget(kind: 'tag' | 'category', slug: string): void {
    this.forgets++;
    this.owners.delete(`${kind}|${slug}`);
  }

  /**
   * Runs `write(slug)` (a transaction that includes `claim(kind, slug, ...)`) with the explicit
   * slug, or with a slug generated from `name`, retrying generated ones with the next suffix
   * while the claim fails. Returns the slug that was written.
   */
  async withSlug(
    kind: SlugKind,
    explicit: string | undefined,
    name: string,
    write: (slug: string) => Promise<void>,
  ): Promise<string> {
    if (explicit) {
      await write(explicit);
      return explicit;
    }
    // A name that mixes scripts ("React на русском") would give a mixed-script slug, which the
    // single-script rule refuses: such names get a random slug unless one is sent.
    const generated = slugify(name);
    const base =
      (generated && isSingleScript(generated) ? generated : '') ||
      this.ids
        .next()
        .toLowerCase()
        .replace(/[^a-z0-9]/g, '');
    let slug = base;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      try {
        await write(slug);
        return slug;
      } catch (error) {
        if (!(error instanceof DomainError && error.code === ErrorCode.SlugTaken)) throw error;
        slug = withSuffix(base, await this.nextSuffix(kind, base));
      }
    }
    throw conflict(ErrorCode.SlugTaken, `Could not find a free slug for "${name}"; send one explicitly.`);
  }

  /** 2, 3, 4... for a base, from an atomic counter. */
  private async nextSuffix(kind: SlugKind, base: string): Promise<number> {
    const result = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: Keys.slugCounter(kind, base),
        UpdateExpression: 'SET entity = :entity ADD issued :one',
        ExpressionAttributeValues: { ':one': 1, ':entity': ENTITY.SlugCounter },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(result.Attributes?.issued ?? 1) + 1;
  }
}
