import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { GSI, TABLE_KEYS, TTL_ATTRIBUTE } from './table.definition.js';

/**
 * The declared layout of the table: every kind of item, by the shape of its key. `db:import`
 * checks each line against it before writing anything, so a file from another service, a typo
 * or a truncated key stops the run with its line number. A new kind of item must be added here
 * (and to `docs/data-model.md`); the data-model v2 work replaces this with its own declaration.
 */
export interface ItemShape {
  entity: string;
  pk: RegExp;
  sk: RegExp;
}

const ID = '[A-Za-z0-9_-]{1,64}';
const TIME = '\\d{4}-\\d{2}-\\d{2}T[0-9:.]+Z';

export const ITEM_SHAPES: readonly ItemShape[] = [
  { entity: 'User', pk: new RegExp(`^USER#${ID}$`), sk: /^USER$/ },
  { entity: 'Profile', pk: new RegExp(`^USER#${ID}$`), sk: /^USER#PROFILE$/ },
  { entity: 'UserLogin', pk: new RegExp(`^USER#${ID}$`), sk: /^USER#LOGIN$/ },
  { entity: 'Session', pk: new RegExp(`^USER#${ID}$`), sk: new RegExp(`^SESSION#${ID}$`) },
  { entity: 'Unique', pk: /^UNIQUE#(EMAIL|USERNAME|[A-Z]+_SLUG)#.+$/, sk: /^UNIQUE$/ },
  { entity: 'ActionToken', pk: /^TOKEN#[0-9a-f]{64}$/, sk: /^TOKEN$/ },
  { entity: 'MailRequest', pk: new RegExp(`^USER#${ID}$`), sk: new RegExp(`^MAILREQ#${ID}$`) },
  { entity: 'NoticeSent', pk: new RegExp(`^USER#${ID}$`), sk: /^NOTICE#[a-z_]+#\d+$/ },
  { entity: 'NoticeToAddress', pk: /^NOTICETO#[A-Za-z0-9_-]{43}$/, sk: /^NOTICE#[a-z_]+$/ },
  { entity: 'RateLimit', pk: /^RATE#.+$/, sk: /^WINDOW#\d+$/ },
  { entity: 'Counter', pk: /^STATS#USERS$/, sk: /^ACTIVE_ADMINS$/ },
  { entity: 'Category', pk: /^CATEGORIES$/, sk: new RegExp(`^CATEGORY#${ID}$`) },
  { entity: 'CategoryTree', pk: /^CATEGORIES$/, sk: /^TREE$/ },
  { entity: 'Tag', pk: new RegExp(`^TAG#${ID}$`), sk: /^TAG$/ },
  { entity: 'PostLink', pk: new RegExp(`^(TAG|CATFEED)#${ID}$`), sk: new RegExp(`^POST#${TIME}#${ID}$`) },
  { entity: 'Post', pk: new RegExp(`^POST#${ID}$`), sk: /^POST$/ },
  { entity: 'PostContent', pk: new RegExp(`^POST#${ID}$`), sk: /^POST#CONTENT$/ },
  { entity: 'PostCounts', pk: new RegExp(`^POST#${ID}$`), sk: /^COUNTS$/ },
  { entity: 'Like', pk: new RegExp(`^POSTLIKES#${ID}#\\d+$`), sk: new RegExp(`^LIKE#${ID}$`) },
  { entity: 'PostLikeShard', pk: new RegExp(`^POSTLIKES#${ID}#\\d+$`), sk: /^COUNT$/ },
  { entity: 'PostCommentShard', pk: new RegExp(`^POSTCOMMENTS#${ID}#\\d+$`), sk: /^COUNT$/ },
  // A like of a table written before migration 0008 (in its post's partition): an export of one
  // imports, and db:migrate moves it.
  { entity: 'Like', pk: new RegExp(`^POST#${ID}$`), sk: new RegExp(`^LIKE#${ID}$`) },
  { entity: 'View', pk: new RegExp(`^VIEW#${ID}#.+$`), sk: /^VIEW$/ },
  { entity: 'PostViewShard', pk: new RegExp(`^VIEWS#${ID}#\\d+$`), sk: /^VIEWS$/ },
  { entity: 'Comment', pk: new RegExp(`^POST#${ID}$`), sk: new RegExp(`^COMMENT#${TIME}#${ID}(/${TIME}#${ID})*$`) },
  { entity: 'CommentPointer', pk: new RegExp(`^CMTID#${ID}#${ID}$`), sk: /^CMTID$/ },
  // A comment pointer of a table written before migration 0010 (in its post's partition): an export
  // of one imports, and db:migrate moves it.
  { entity: 'CommentPointer', pk: new RegExp(`^POST#${ID}$`), sk: new RegExp(`^CMTID#${ID}$`) },
  { entity: 'CommentLike', pk: new RegExp(`^POST#${ID}$`), sk: new RegExp(`^CLIKE#${ID}#${ID}$`) },
  { entity: 'FeedMonth', pk: /^FEED#MONTHS$/, sk: /^\d{4}-\d{2}$/ },
  { entity: 'Idempotency', pk: new RegExp(`^IDEMPOTENCY#${ID}#.+$`), sk: /^IDEMPOTENCY$/ },
  { entity: 'SlugCounter', pk: /^SLUGSEQ#[A-Z]+#.+$/, sk: /^SEQ$/ },
  { entity: 'SeedMarker', pk: /^SEED#.+$/, sk: /^SEED$/ },
  { entity: 'StreamCheckpoint', pk: /^STREAM#CHECKPOINT$/, sk: /^SHARD#.+$/ },
  { entity: 'StreamDeadLetter', pk: /^STREAM#DEADLETTER$/, sk: /^SHARD#.+#\d{40}$/ },
  { entity: 'Follow', pk: new RegExp(`^FOLLOW#${ID}#${ID}$`), sk: /^FOLLOW$/ },
  { entity: 'FollowCounts', pk: new RegExp(`^USER#${ID}$`), sk: /^USER#FOLLOWS$/ },
  { entity: 'UserPostCounts', pk: new RegExp(`^USER#${ID}$`), sk: /^USER#POSTS$/ },
  { entity: 'DisplayFanoutJob', pk: new RegExp(`^USER#${ID}$`), sk: /^FANOUT#AUTHOR_DISPLAY$/ },
  { entity: 'FanInPromotionJob', pk: new RegExp(`^USER#${ID}$`), sk: /^FANOUT#FAN_IN$/ },
  { entity: 'TimelineEntry', pk: new RegExp(`^TIMELINE#${ID}$`), sk: new RegExp(`^${TIME}#${ID}$`) },
  { entity: 'FeedDays', pk: new RegExp(`^USER#${ID}$`), sk: /^FEED#DAYS$/ },
  { entity: 'OutboundEvent', pk: new RegExp(`^EVENT#${ID}$`), sk: /^EVENT$/ },
  { entity: 'WebhookDelivery', pk: new RegExp(`^EVENT#${ID}$`), sk: /^DELIVERY#[0-9a-f]{16}$/ },
  { entity: 'WebhookTargets', pk: /^WEBHOOKS#TARGETS$/, sk: /^TARGETS$/ },
  { entity: 'Migration', pk: /^MIGRATION$/, sk: /^(BASELINE|VERSION#\d{4})$/ },
];

export const KNOWN_ENTITIES: ReadonlySet<string> = new Set(ITEM_SHAPES.map((shape) => shape.entity));

/** Key and index attributes with the type the table definition gives them. */
const KEY_TYPES: Record<string, 'S' | 'N'> = {
  [TABLE_KEYS.partitionKey]: 'S',
  [TABLE_KEYS.sortKey]: 'S',
  ...Object.fromEntries(
    Object.values(GSI).flatMap((index) => [
      [index.partitionKey, 'S'],
      [index.sortKey, 'sortKeyType' in index ? index.sortKeyType : 'S'],
    ]),
  ),
  [TTL_ATTRIBUTE]: 'N',
};

/** DynamoDB's limits: 2 KB partition key, 1 KB sort key, 400 KB item. */
const MAX_PK_BYTES = 2048;
const MAX_SK_BYTES = 1024;

/**
 * Why an item does not fit the declared layout, or undefined when it does: an unknown `entity`,
 * a key that matches no shape (or another entity's), a key or index attribute of the wrong type.
 */
export function layoutProblem(item: Record<string, AttributeValue>): string | undefined {
  for (const [name, type] of Object.entries(KEY_TYPES)) {
    const value = item[name];
    if (value === undefined) continue;
    if (value[type] === undefined) return `malformed key: ${name} must be of type ${type}`;
    if (type === 'S' && value.S === '') return `malformed key: ${name} is empty`;
  }
  const pk = item[TABLE_KEYS.partitionKey]?.S;
  const sk = item[TABLE_KEYS.sortKey]?.S;
  if (pk === undefined || sk === undefined) return 'malformed key: PK and SK are required';
  if (Buffer.byteLength(pk) > MAX_PK_BYTES || Buffer.byteLength(sk) > MAX_SK_BYTES)
    return 'malformed key: PK or SK is too long';
  const entity = item.entity;
  if (entity !== undefined && (entity.S === undefined || !KNOWN_ENTITIES.has(entity.S)))
    return `unknown entity ${JSON.stringify(entity.S ?? entity)}`;
  const shapes = ITEM_SHAPES.filter((shape) => shape.pk.test(pk) && shape.sk.test(sk));
  if (shapes.length === 0) return `malformed key: PK=${JSON.stringify(pk)} SK=${JSON.stringify(sk)} fits no entity`;
  if (entity?.S !== undefined && !shapes.some((shape) => shape.entity === entity.S))
    return `malformed key: PK=${JSON.stringify(pk)} SK=${JSON.stringify(sk)} is not the key of a ${entity.S}`;
  return undefined;
}
