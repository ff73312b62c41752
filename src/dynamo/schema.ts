import {
  ADMIN_COUNTER_KEY,
  CommentIndexKeys,
  ENTITY,
  EventIndexKeys,
  FollowIndexKeys,
  type ItemKey,
  Keys,
  OwnedIndexKeys,
  PostIndexKeys,
  TagIndexKeys,
  TimelineIndexKeys,
  UserIndexKeys,
} from './keys.js';
import { INDEX_SHARDS, shardPartition } from './sharding.js';
import { GSI, type GsiName } from './table.definition.js';

/**
 * The declared schema: every entity's keys and the index entries it carries, and every named
 * index access pattern with its key condition, calls and cost. The keys are not spelled here:
 * each declaration calls the key builders of `keys.ts` with placeholders (`<userId>`), so what the
 * docs show is what the code writes. Repositories name the index of a pattern through
 * `INDEX_PATTERNS.<name>.index`; `npm run docs:data-model` renders both tables into
 * `docs/data-model.md` (src/dynamo/schema-docs.ts), and its `--check` fails on a difference.
 */

/** One kind of item: its key, and the index keys it carries (absent ones: not in that index). */
export interface EntityDeclaration {
  entity: string;
  key: ItemKey;
  /** Index key attributes (`GSI1PK`...) and their values, from the index key builders. */
  indexKeys?: Record<string, string | number>;
  /** What it is, in a few words. */
  about: string;
}

const at = '<createdAt>';
/** A shard number (src/dynamo/sharding.ts): `0` to `INDEX_SHARDS - 1`, from the item's id. */
const SHARD = '<shard>';

/** A key whose builder takes a number: its sort key with the placeholder in place of the number. */
const placeholderAtEnd = (key: ItemKey, written: string, placeholder: string): ItemKey => ({
  PK: key.PK,
  SK: key.SK.slice(0, key.SK.length - written.length) + placeholder,
});

export const ENTITIES: readonly EntityDeclaration[] = [
  {
    entity: ENTITY.User,
    key: Keys.user('<userId>'),
    indexKeys: UserIndexKeys.forUser({ id: '<userId>', createdAt: at, role: '<role>', status: '<status>' }, SHARD),
    about: 'account; the four admin listings (sharded by id)',
  },
  { entity: ENTITY.UserLogin, key: Keys.userLogin('<userId>'), about: 'sign-in bookkeeping, unindexed' },
  { entity: ENTITY.Profile, key: Keys.profile('<userId>'), about: 'public profile' },
  { entity: ENTITY.FollowCounts, key: Keys.followCounts('<userId>'), about: 'follower and following counts' },
  {
    entity: ENTITY.UserPostCounts,
    key: Keys.userPostCounts('<userId>'),
    about:
      'published posts and likes (`publishedCount`, `likedCount`), published posts per day (`d<yyyymmdd>`, hints `p`/`q<yyyymmdd>`)',
  },
  {
    entity: ENTITY.DisplayFanoutJob,
    key: Keys.displayFanoutJob('<userId>'),
    about: "a rename's copy still in progress (ttl)",
  },
  {
    entity: ENTITY.FanInPromotionJob,
    key: Keys.fanInPromotionJob('<userId>'),
    about: "an author's fan-in promotion: the followers index cursor, or done (ttl)",
  },
  {
    entity: ENTITY.Unique,
    key: Keys.uniqueEmail('<email>'),
    about: "an email is taken, or reserved for an email change's undo link (ttl)",
  },
  { entity: ENTITY.Unique, key: Keys.uniqueUsername('<username>'), about: 'a username is taken' },
  { entity: ENTITY.Unique, key: Keys.uniqueSlug('<kind>', '<slug>'), about: 'a slug is taken' },
  { entity: ENTITY.SlugCounter, key: Keys.slugCounter('<kind>', '<base>'), about: 'suffixes issued for a slug base' },
  { entity: ENTITY.Session, key: Keys.session('<userId>', '<sessionId>'), about: 'a refresh session' },
  {
    entity: ENTITY.ActionToken,
    key: Keys.actionToken('<sha256(token)>'),
    indexKeys: OwnedIndexKeys.actionToken('<userId>', at),
    about: 'reset, verification or email-change undo token (ttl)',
  },
  {
    entity: ENTITY.MailRequest,
    key: Keys.mailRequest('<userId>', '<requestId>'),
    about: 'a link mail for the processor to mint and send (ttl)',
  },
  {
    entity: ENTITY.NoticeSent,
    key: Keys.noticeSent('<userId>', '<kind>#<n>'),
    about: 'a security notice sent once (ttl)',
  },
  {
    entity: ENTITY.NoticeToAddress,
    key: Keys.noticeToAddress('<sha256(email)>', '<kind>'),
    about: 'a notice of that kind mailed to the address in the last day (never-verified addresses; ttl)',
  },
  {
    entity: ENTITY.Idempotency,
    key: Keys.idempotency('<userId>', '<key>'),
    indexKeys: OwnedIndexKeys.idempotency('<userId>', '<key>'),
    about: 'an idempotent post creation (ttl)',
  },
  {
    entity: ENTITY.RateLimit,
    key: placeholderAtEnd(Keys.rateLimit('<scope>', 0), '0', '<windowStart>'),
    about: 'fixed-window counter (ttl)',
  },
  { entity: ENTITY.Counter, key: ADMIN_COUNTER_KEY, about: 'exact count of active admins' },
  { entity: ENTITY.Category, key: Keys.category('<categoryId>'), about: 'the whole tree in one partition' },
  {
    entity: ENTITY.CategoryTree,
    key: Keys.categoryTree(),
    about: "the tree's version: every tree change conditions on it and bumps it",
  },
  {
    entity: ENTITY.Tag,
    key: Keys.tag('<tagId>'),
    indexKeys: {
      ...TagIndexKeys.byName({ id: '<tagId>', name: '<name>' }),
      GSI5PK: TagIndexKeys.partition,
      GSI5SK: '<postCount>',
    },
    about: 'by name (GSI1), by post count (GSI5, numeric `postCount`)',
  },
  {
    entity: ENTITY.Post,
    key: Keys.post('<postId>'),
    indexKeys: {
      ...PostIndexKeys.published({ id: '<postId>', authorId: '<authorId>', publishedAt: '<publishedAt>' }),
      // The feed is bucketed by the month of `publishedAt` (feedBucket).
      GSI1PK: PostIndexKeys.feedPartition('<YYYY-MM>'),
      ...PostIndexKeys.own({ id: '<postId>', authorId: '<authorId>', createdAt: at, status: '<status>' }),
    },
    about: 'summary; GSI1/GSI2 only once published or scheduled',
  },
  { entity: ENTITY.PostContent, key: Keys.postContent('<postId>'), about: 'the content' },
  { entity: ENTITY.PostCounts, key: Keys.postCounts('<postId>'), about: 'views, likes, comments: unindexed' },
  {
    entity: ENTITY.FeedMonth,
    key: Keys.feedMonth('<YYYY-MM>'),
    about: 'a month with published posts; `publishedCount` of them',
  },
  {
    entity: ENTITY.PostLink,
    key: Keys.tagPostLink('<tagId>', '<publishedAt>', '<postId>'),
    about: "a post in a tag's feed, with a summary copy",
  },
  {
    entity: ENTITY.PostLink,
    key: Keys.categoryPostLink('<categoryId>', '<publishedAt>', '<postId>'),
    about: "a post in a category's feed, with a summary copy",
  },
  {
    entity: ENTITY.Like,
    key: { PK: Keys.postLikeShardPartition('<postId>', '<n>'), SK: Keys.like('', '<userId>').SK },
    indexKeys: PostIndexKeys.like('<userId>', '<likedAt>', '<postId>'),
    about:
      "a like (n: the liker's shard; `countedOnPost` if counted on COUNTS); the user's likes (`~#<likedAt>#<postId>` if withdrawn)",
  },
  {
    entity: ENTITY.PostLikeShard,
    key: { PK: Keys.postLikeShardPartition('<postId>', '<n>'), SK: Keys.postLikeShard('', 0).SK },
    about: 'a like counter shard (`likeCount`, `version`): folded into COUNTS',
  },
  {
    entity: ENTITY.PostCommentShard,
    key: Keys.postCommentShard('<postId>', '<n>'),
    about:
      "a comment counter shard (`commentCount`, `version`; n from the comment's id): a hot post's, folded into COUNTS",
  },
  { entity: ENTITY.View, key: Keys.view('<postId>', '<viewer>'), about: 'a viewer counted recently (ttl)' },
  {
    entity: ENTITY.PostViewShard,
    key: { PK: Keys.postViewShard('<postId>', 0).PK.replace(/0$/, '<n>'), SK: Keys.postViewShard('', 0).SK },
    about: 'a view counter shard (the stream folds it into COUNTS)',
  },
  {
    entity: ENTITY.Comment,
    key: Keys.comment('<postId>', '<path>'),
    indexKeys: CommentIndexKeys.moderation({ createdAt: at, postId: '<postId>', id: '<commentId>' }, SHARD),
    about: 'in display order; GSI1 only while pending (the queue sharded by id)',
  },
  {
    entity: ENTITY.CommentPointer,
    key: Keys.commentPointer('<postId>', '<commentId>'),
    indexKeys: CommentIndexKeys.commenter({
      authorId: '<authorId>',
      status: '<status>',
      createdAt: at,
      id: '<commentId>',
    }),
    about: "id to path; the commenter's comments (no GSI6 keys once deleted)",
  },
  {
    entity: ENTITY.CommentLike,
    key: Keys.commentLike('<postId>', '<commentId>', '<userId>'),
    indexKeys: CommentIndexKeys.like('<userId>', '<likedAt>', '<commentId>'),
    about: "a comment like; the user's comment likes",
  },
  {
    entity: ENTITY.Follow,
    key: Keys.follow('<followerId>', '<authorId>'),
    indexKeys: FollowIndexKeys.edge('<followerId>', '<authorId>', '<followedAt>'),
    about: "a follow; the author's followers, the follower's following",
  },
  {
    entity: ENTITY.TimelineEntry,
    key: Keys.timelineEntry('<userId>', '<publishedAt>', '<postId>'),
    indexKeys: TimelineIndexKeys.entry('<userId>', '<authorId>', '<publishedAt>', '<postId>'),
    about: "a post in a reader's timeline; the reader's entries of one author",
  },
  {
    entity: ENTITY.FeedDays,
    key: Keys.feedDays('<userId>'),
    about:
      "a reader's timeline entries per publication day (`d<yyyymmdd>`); made with the account, the fan-out's condition",
  },
  {
    entity: ENTITY.OutboundEvent,
    key: Keys.outboundEvent('<eventId>'),
    indexKeys: {
      ...EventIndexKeys.event('<occurredAt>', '<eventId>', SHARD),
      ...EventIndexKeys.owned('<userId>', '<occurredAt>', '<eventId>'),
    },
    about: 'an outbound event (ttl); GSI3 when it names a user',
  },
  {
    entity: ENTITY.WebhookDelivery,
    key: Keys.webhookDelivery('<eventId>', '<target>'),
    indexKeys: EventIndexKeys.due('<dueAt>', '<eventId>', '<target>'),
    about: 'a delivery while pending',
  },
  {
    entity: ENTITY.WebhookDelivery,
    key: Keys.webhookDelivery('<eventId>', '<target>'),
    indexKeys: EventIndexKeys.dead('<failedAt>', '<eventId>', '<target>'),
    about: 'a delivery given up on (none once delivered)',
  },
  {
    entity: ENTITY.WebhookTargets,
    key: Keys.webhookTargets,
    about: 'every webhook a dispatcher was started with (a string set): whose deliveries to drop once removed',
  },
  {
    entity: ENTITY.Migration,
    key: placeholderAtEnd(Keys.migration(0), '0000', '<NNNN>'),
    about: 'an applied migration (`SK=BASELINE`: the layout at creation)',
  },
  { entity: ENTITY.StreamCheckpoint, key: Keys.streamCheckpoint('<shardId>'), about: 'stream poller position' },
  {
    entity: ENTITY.StreamDeadLetter,
    key: Keys.streamDeadLetter('<shardId>', '<position>'),
    about: 'a record given up on (ttl)',
  },
  { entity: 'Seed', key: Keys.seedMarker('<name>'), about: 'the demo data was written' },
];

/** A named Query of an index: what a repository runs, with its key condition and cost. */
export interface IndexPattern {
  index: GsiName;
  /** The partition queried, from the key builders. */
  partition: string;
  /** The sort-key condition and order, in words. */
  sort: string;
  /** Who runs it. */
  usedBy: string;
  /** DynamoDB calls per page and read units, with the reason. */
  cost: string;
}

const perPage = (entry: string) => `1 Query a page; ${entry}`;
/** The follow listings' edges, and what a page short of deactivated accounts reads on. */
const FOLLOW_EDGES = 'small edges; a page short of deactivated accounts reads on up to 2 times for the missing count';
/** A listing merged from the shards of its partition (src/dynamo/sharded-page.ts). */
const perMergedPage = (entry: string) =>
  `${INDEX_SHARDS} Queries a page in parallel (one per shard, at most the page size each), merged; ${entry}`;
const usersPartition = (filter: { role?: string; status?: string }) =>
  shardPartition(UserIndexKeys.listing(filter).base, SHARD);

export const INDEX_PATTERNS = {
  usersAll: {
    index: GSI.GSI1.name,
    partition: usersPartition({}),
    sort: 'newest first',
    usedBy: 'admin user listing',
    cost: perMergedPage('0.5 RCU per 4 KB of users (ALL) read in each shard'),
  },
  usersByStatus: {
    index: GSI.GSI2.name,
    partition: usersPartition({ status: '<status>' }),
    sort: 'newest first',
    usedBy: 'admin user listing by status',
    cost: perMergedPage('0.5 RCU per 4 KB of users (ALL) read in each shard'),
  },
  usersByRole: {
    index: GSI.GSI3.name,
    partition: usersPartition({ role: '<role>' }),
    sort: 'newest first',
    usedBy: 'admin user listing by role',
    cost: perMergedPage('0.5 RCU per 4 KB of users (ALL) read in each shard'),
  },
  usersByRoleAndStatus: {
    index: GSI.GSI4.name,
    partition: usersPartition({ role: '<role>', status: '<status>' }),
    sort: 'newest first',
    usedBy: 'admin user listing by role and status',
    cost: perMergedPage('0.5 RCU per 4 KB of users (ALL) read in each shard'),
  },
  ownedItems: {
    index: GSI.GSI3.name,
    partition: OwnedIndexKeys.partition('<userId>'),
    sort: 'all (few, short-lived)',
    usedBy: 'export, erasure: tokens, idempotency records, events',
    cost: '1 Query (a handful of items)',
  },
  tagsByName: {
    index: GSI.GSI1.name,
    partition: TagIndexKeys.partition,
    sort: 'A-Z by lower-cased name',
    usedBy: 'GET /tags',
    cost: perPage('0.5 RCU per 4 KB of tags'),
  },
  tagsByPostCount: {
    index: GSI.GSI5.name,
    partition: TagIndexKeys.partition,
    sort: 'most used first (numeric)',
    usedBy: 'GET /tags?sort=popular',
    cost: perPage('0.5 RCU per 4 KB of tags'),
  },
  globalFeedMonth: {
    index: GSI.GSI1.name,
    partition: PostIndexKeys.feedPartition('<YYYY-MM>'),
    sort: '`<= now`, newest first',
    usedBy: `GET /posts (the months from \`${Keys.feedMonthsPartition}\`)`,
    cost: perPage('a page of 20 summaries: 2.5 RCU'),
  },
  authorPublished: {
    index: GSI.GSI2.name,
    partition: PostIndexKeys.authorPublishedPartition('<authorId>'),
    sort: '`<= now`, newest first',
    usedBy: 'GET /posts?author=, GET /users/{id}/posts',
    cost: perPage('a page of 20 summaries: 2.5 RCU'),
  },
  ownPosts: {
    index: GSI.GSI3.name,
    partition: PostIndexKeys.ownPostsPartition('<authorId>'),
    sort: 'newest first',
    usedBy: 'GET /users/me/posts, GET /users/{id}/posts/all (admin)',
    cost: perPage('a page of 20 summaries: 2.5 RCU'),
  },
  ownPostsByStatus: {
    index: GSI.GSI4.name,
    partition: PostIndexKeys.ownPostsByStatusPartition('<authorId>', '<status>'),
    sort: 'newest first',
    usedBy: 'GET /users/me/posts?status=, GET /users/{id}/posts/all?status= (admin)',
    cost: perPage('a page of 20 summaries: 2.5 RCU'),
  },
  likesBy: {
    index: GSI.GSI2.name,
    partition: PostIndexKeys.likesPartition('<userId>'),
    sort: 'newest place first; lists read up to now (hidden likes sort above)',
    usedBy: 'GET /users/me/likes, export, erasure',
    cost: perPage('small items: 0.5 RCU for 100'),
  },
  moderationQueue: {
    index: GSI.GSI1.name,
    partition: shardPartition(CommentIndexKeys.moderationBase, SHARD),
    sort: 'oldest first',
    usedBy: 'GET /comments/moderation',
    cost: perMergedPage('pending comments only (sparse)'),
  },
  commenterComments: {
    index: GSI.GSI6.name,
    partition: CommentIndexKeys.commenterPartition('<authorId>'),
    sort: `\`begins_with(${CommentIndexKeys.commenterApprovedPrefix})\` for the public listing; all for export and erasure`,
    usedBy: 'GET /users/{id}/comments, export, erasure, rename fan-out',
    cost: "1 Query of ~200-byte entries (INCLUDE `path`) + 1 BatchGetItem of the comments (+ 1 of their posts' summaries for the public listing, whose page short of hidden comments reads on up to 2 times for the missing count)",
  },
  timelineByAuthor: {
    index: GSI.GSI6.name,
    partition: TimelineIndexKeys.pairPartition('<userId>', '<authorId>'),
    sort: '`>= <windowStart>` (the 30-day window)',
    usedBy: "unfollow (stream processor: the author's entries leave the reader's timeline)",
    cost: "1 Query of ~150-byte entries, reading only that author's entries (0.5 RCU when none); written with each fanned-out entry (+1 index WCU)",
  },
  commentLikesBy: {
    index: GSI.GSI2.name,
    partition: CommentIndexKeys.likesPartition('<userId>'),
    sort: 'newest first',
    usedBy: "a user's comment likes (export, erasure)",
    cost: perPage('small items'),
  },
  followers: {
    index: GSI.GSI1.name,
    partition: FollowIndexKeys.followers('<authorId>'),
    sort: 'newest first',
    usedBy: 'GET /users/{id}/followers, the fan-out',
    cost: perPage(FOLLOW_EDGES),
  },
  following: {
    index: GSI.GSI2.name,
    partition: FollowIndexKeys.following('<followerId>'),
    sort: 'newest first',
    usedBy: 'GET /users/{id}/following',
    cost: perPage(FOLLOW_EDGES),
  },
  events: {
    index: GSI.GSI1.name,
    partition: shardPartition(EventIndexKeys.eventsBase, SHARD),
    sort: 'newest first',
    usedBy: 'GET /admin/events',
    cost: perMergedPage('small events'),
  },
  dueDeliveries: {
    index: GSI.GSI1.name,
    partition: EventIndexKeys.duePartition('<target>'),
    sort: 'oldest due first, 4 (while its webhook has room and something due by what the dispatcher knows; + 1 a poll in turn)',
    usedBy: "the webhook dispatcher, each webhook in turn; a removed webhook's, to drop",
    cost: '1 Query per webhook with room and something due, + 1 a poll in turn (0.5 RCU each; none for a full one) + 1 BatchGetItem of the payloads a look',
  },
  deadDeliveries: {
    index: GSI.GSI1.name,
    partition: EventIndexKeys.deadPartition,
    sort: 'newest first',
    usedBy: 'GET /admin/webhooks/dead-letters',
    cost: perPage('small deliveries'),
  },
} as const satisfies Record<string, IndexPattern>;

export type IndexPatternName = keyof typeof INDEX_PATTERNS;
