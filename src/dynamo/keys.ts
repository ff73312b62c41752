/**
 * Key builders: the only place that knows how keys are spelled. Repositories compose items
 * from these, and `docs/data-model.md` lists the same shapes.
 */
import { LIKE_SHARDS, shardOf, shardPartition } from './sharding.js';
import { GSI, type GsiName } from './table.definition.js';
export const ENTITY = {
  User: 'User',
  Profile: 'Profile',
  UserLogin: 'UserLogin',
  Unique: 'Unique',
  Session: 'Session',
  ActionToken: 'ActionToken',
  // transactional mail sent by the stream processor (issue 17)
  MailRequest: 'MailRequest',
  NoticeSent: 'NoticeSent',
  NoticeToAddress: 'NoticeToAddress',
  RateLimit: 'RateLimit',
  Category: 'Category',
  CategoryTree: 'CategoryTree',
  Tag: 'Tag',
  Post: 'Post',
  PostContent: 'PostContent',
  PostCounts: 'PostCounts',
  PostViewShard: 'PostViewShard',
  PostLikeShard: 'PostLikeShard',
  PostCommentShard: 'PostCommentShard',
  PostLink: 'PostLink',
  Like: 'Like',
  Idempotency: 'Idempotency',
  Comment: 'Comment',
  CommentPointer: 'CommentPointer',
  CommentLike: 'CommentLike',
  View: 'View',
  StreamCheckpoint: 'StreamCheckpoint',
  StreamDeadLetter: 'StreamDeadLetter',
  Follow: 'Follow',
  FollowCounts: 'FollowCounts',
  UserPostCounts: 'UserPostCounts',
  DisplayFanoutJob: 'DisplayFanoutJob',
  FanInPromotionJob: 'FanInPromotionJob',
  TimelineEntry: 'TimelineEntry',
  FeedDays: 'FeedDays',
  // outbound events and webhooks (issue 17)
  OutboundEvent: 'OutboundEvent',
  WebhookDelivery: 'WebhookDelivery',
  WebhookTargets: 'WebhookTargets',
  // items of the table's own bookkeeping
  Counter: 'Counter',
  SlugCounter: 'SlugCounter',
  FeedMonth: 'FeedMonth',
  Migration: 'Migration',
} as const;

export interface ItemKey {
  PK: string;
  SK: string;
}

/** Emails and usernames are compared case-insensitively and without surrounding spaces. */
export const normalizeEmail = (email: string): string => email.trim().toLowerCase();
export const normalizeUsername = (username: string): string => username.trim().toLowerCase();

const POST_LINK_PREFIX = 'POST#';

export const Keys = {
  user: (userId: string): ItemKey => ({ PK: `USER#${userId}`, SK: 'USER' }),
  profile: (userId: string): ItemKey => ({ PK: `USER#${userId}`, SK: 'USER#PROFILE' }),
  /** Sign-in bookkeeping, off the indexed user item (src/users/login-bookkeeping.ts). */
  userLogin: (userId: string): ItemKey => ({ PK: `USER#${userId}`, SK: 'USER#LOGIN' }),
  /** Sort-key prefix shared by the user, profile and sign-in items, so one Query reads them. */
  userAggregatePrefix: 'USER',
  userPartition: (userId: string): string => `USER#${userId}`,
  uniqueEmail: (email: string): ItemKey => ({ PK: `UNIQUE#EMAIL#${normalizeEmail(email)}`, SK: 'UNIQUE' }),
  uniqueUsername: (username: string): ItemKey => ({
    PK: `UNIQUE#USERNAME#${normalizeUsername(username)}`,
    SK: 'UNIQUE',
  }),
  session: (userId: string, sessionId: string): ItemKey => ({ PK: `USER#${userId}`, SK: `SESSION#${sessionId}` }),
  /** Sort-key prefix of a user's sessions. */
  sessionPrefix: 'SESSION#',
  /** Password-reset and verification tokens, keyed by the SHA-256 of the token. */
  actionToken: (tokenHash: string): ItemKey => ({ PK: `TOKEN#${tokenHash}`, SK: 'TOKEN' }),
  /** A mail the processor sends (a link it mints): written by the request, deleted when minted. */
  mailRequest: (userId: string, requestId: string): ItemKey => ({ PK: `USER#${userId}`, SK: `MAILREQ#${requestId}` }),
  /** Sort-key prefix of mail requests (the processor recognises them by it). */
  mailRequestPrefix: 'MAILREQ#',
  /** A security notice already sent for one change of the user item (a replay sends it no more). */
  noticeSent: (userId: string, notice: string): ItemKey => ({ PK: `USER#${userId}`, SK: `NOTICE#${notice}` }),
  /**
   * The last notice of a kind mailed to an address, whoever's account it was about (review 22a L7:
   * an `email_changed` notice to a never-verified address goes at most once a day). Keyed by the
   * address's SHA-256, as rate-limit counters are: the key is no second copy of the address.
   */
  noticeToAddress: (addressHash: string, kind: string): ItemKey => ({
    PK: `NOTICETO#${addressHash}`,
    SK: `NOTICE#${kind}`,
  }),
  /** Every category lives in one partition: the tree is one consistent Query (see docs/data-model.md). */
  category: (categoryId: string): ItemKey => ({ PK: 'CATEGORIES', SK: `CATEGORY#${categoryId}` }),
  categoriesPartition: 'CATEGORIES',
  categoryPrefix: 'CATEGORY#',
  /** The category tree's version: every create under a parent, move and delete bumps it (review 21a M1/M2/L1). */
  categoryTree: (): ItemKey => ({ PK: 'CATEGORIES', SK: 'TREE' }),
  tag: (tagId: string): ItemKey => ({ PK: `TAG#${tagId}`, SK: 'TAG' }),
  tagPartition: (tagId: string): string => `TAG#${tagId}`,
  /** The post summary (everything but the content): what feeds read. */
  post: (postId: string): ItemKey => ({ PK: `POST#${postId}`, SK: 'POST' }),
  /** The content, in its own item so that feed pages stay small. */
  postContent: (postId: string): ItemKey => ({ PK: `POST#${postId}`, SK: 'POST#CONTENT' }),
  /** The post's often-changing counters, on a small item no index copies (src/posts/post-counters.ts). */
  postCounts: (postId: string): ItemKey => ({ PK: `POST#${postId}`, SK: 'COUNTS' }),
  postPartition: (postId: string): string => `POST#${postId}`,
  /** Sort-key prefix shared by the summary and content items. */
  postPrefix: 'POST',
  /**
   * A like, in one of its post's like shards (`POSTLIKES#<postId>#<n>`, n from the liker's id:
   * src/dynamo/sharding.ts, LIKE_SHARDS), not in the post's partition: a viral post's likes spread
   * over the shards. Outside `POST#`, like the view shards.
   */
  like: (postId: string, userId: string): ItemKey => ({
    PK: `POSTLIKES#${postId}#${shardOf(userId, LIKE_SHARDS)}`,
    SK: `LIKE#${userId}`,
  }),
  likePrefix: 'LIKE#',
  /** A post's like shard `n`: its likes and its like counter shard (src/posts/like-shards.ts). */
  postLikeShardPartition: (postId: string, shard: number | string): string => `POSTLIKES#${postId}#${shard}`,
  /** The like counter of a post's like shard `n` (the stream folds it into COUNTS). */
  postLikeShard: (postId: string, shard: number): ItemKey => ({ PK: `POSTLIKES#${postId}#${shard}`, SK: 'COUNT' }),
  /** A post's comment counter shard `n` (src/posts/comment-shards.ts): the stream folds it into COUNTS. */
  postCommentShard: (postId: string, shard: number | string): ItemKey => ({
    PK: `POSTCOMMENTS#${postId}#${shard}`,
    SK: 'COUNT',
  }),
  /** That a viewer (a user id, or a keyed hash of IP and user agent) was counted recently. */
  view: (postId: string, viewer: string): ItemKey => ({ PK: `VIEW#${postId}#${viewer}`, SK: 'VIEW' }),
  /**
   * One of a post's view counter shards (src/posts/view-shards.ts), each a partition of its own so
   * that a viral post's views spread over them. Outside `POST#`, whose partitions tools treat as
   * a post's (the orphan sweep would take a shard without a summary for an orphan).
   */
  postViewShard: (postId: string, shard: number): ItemKey => ({ PK: `VIEWS#${postId}#${shard}`, SK: 'VIEWS' }),
  /** A published post in a tag's feed (in the tag's partition, so links can be counted). */
  tagPostLink: (tagId: string, publishedAt: string, postId: string): ItemKey => ({
    PK: `TAG#${tagId}`,
    SK: `${POST_LINK_PREFIX}${publishedAt}#${postId}`,
  }),
  /** A published post in a category's feed. */
  categoryPostLink: (categoryId: string, publishedAt: string, postId: string): ItemKey => ({
    PK: `CATFEED#${categoryId}`,
    SK: `${POST_LINK_PREFIX}${publishedAt}#${postId}`,
  }),
  /** Sort-key prefix of the post links in a tag's or category's partition. */
  postLinkPrefix: POST_LINK_PREFIX,
  categoryFeedPartition: (categoryId: string): string => `CATFEED#${categoryId}`,
  /** A month that has published posts: lets the global feed skip empty months. */
  feedMonth: (month: string): ItemKey => ({ PK: 'FEED#MONTHS', SK: month }),
  feedMonthsPartition: 'FEED#MONTHS',
  /** A comment, at its thread path (`<root>/<reply>/...`, each `<createdAt>#<id>`): SK order is display order. */
  comment: (postId: string, path: string): ItemKey => ({ PK: `POST#${postId}`, SK: `COMMENT#${path}` }),
  commentPrefix: 'COMMENT#',
  /**
   * Finds a comment's path from its id. A partition of its own per comment, outside `POST#`
   * (migration 0010): in the post's partition it took 1 WCU of every comment there (issue 15: 200
   * comments/s on one post). The post's cascade finds it from the comment's key (`commentPointerOf`).
   */
  commentPointer: (postId: string, commentId: string): ItemKey => ({ PK: `CMTID#${postId}#${commentId}`, SK: 'CMTID' }),
  /** The pointer of the comment at `commentKey` (`COMMENT#.../<createdAt>#<id>`: the id ends it). */
  commentPointerOf: (commentKey: ItemKey): ItemKey =>
    Keys.commentPointer(commentKey.PK.slice('POST#'.length), commentKey.SK.slice(commentKey.SK.lastIndexOf('#') + 1)),
  /** The post of a comment pointer, from its partition key (`CMTID#<postId>#<commentId>`). */
  postOfCommentPointer: (pointerPartition: string): string =>
    pointerPartition.slice('CMTID#'.length, pointerPartition.lastIndexOf('#')),
  commentLike: (postId: string, commentId: string, userId: string): ItemKey => ({
    PK: `POST#${postId}`,
    SK: `CLIKE#${commentId}#${userId}`,
  }),
  idempotency: (userId: string, key: string): ItemKey => ({ PK: `IDEMPOTENCY#${userId}#${key}`, SK: 'IDEMPOTENCY' }),
  /** A slug owned by a category, tag or post. */
  uniqueSlug: (kind: string, slug: string): ItemKey => ({
    PK: `UNIQUE#${kind.toUpperCase()}_SLUG#${slug}`,
    SK: 'UNIQUE',
  }),
  /** How many suffixed slugs were handed out for a base. */
  slugCounter: (kind: string, base: string): ItemKey => ({ PK: `SLUGSEQ#${kind.toUpperCase()}#${base}`, SK: 'SEQ' }),
  /** The record of an applied (or running) migration; all records share one small partition. */
  migration: (version: number): ItemKey => ({ PK: 'MIGRATION', SK: `VERSION#${String(version).padStart(4, '0')}` }),
  /** The layout version a table was created at (nothing older needs migrating). */
  migrationBaseline: { PK: 'MIGRATION', SK: 'BASELINE' },
  migrationPartition: 'MIGRATION',
  /** What `/health/ready` reads (a GetItem that need not find anything: it proves the table answers). */
  readinessProbe: { PK: 'HEALTH', SK: 'READY' },
  /**
   * How far the local stream poller got in one shard of the table's stream (src/stream/): the
   * last sequence number whose record was handled, and whether the shard is finished.
   */
  streamCheckpoint: (shardId: string): ItemKey => ({ PK: 'STREAM#CHECKPOINT', SK: `SHARD#${shardId}` }),
  streamCheckpointPartition: 'STREAM#CHECKPOINT',
  /**
   * A stream record the local poller gave up on after `STREAM_WORKER_MAX_ATTEMPTS`, so its shard
   * could move on (one partition: a handful of items, listed and replayed by an operator).
   */
  streamDeadLetter: (shardId: string, position: string): ItemKey => ({
    PK: 'STREAM#DEADLETTER',
    SK: `SHARD#${shardId}#${position}`,
  }),
  streamDeadLetterPartition: 'STREAM#DEADLETTER',
  // --- follows and the personal feed (issue 18) ---
  /** That `followerId` follows `authorId`: its own partition, so a follow touches no shared one. */
  follow: (followerId: string, authorId: string): ItemKey => ({ PK: `FOLLOW#${followerId}#${authorId}`, SK: 'FOLLOW' }),
  /**
   * A user's follower and following counts (and, for readers, the fan-in authors they follow):
   * a small item no index copies, in the user's partition under the aggregate's prefix, so the
   * public user view reads it in the same Query and the account erasure removes it.
   */
  followCounts: (userId: string): ItemKey => ({ PK: `USER#${userId}`, SK: 'USER#FOLLOWS' }),
  /**
   * A user's published posts and likes (`publishedCount`, `likedCount`): the exact counts behind
   * Conduit's `articlesCount` for `?author=` and `?favorited=`, kept in the transactions that
   * publish, withdraw or delete a post and like or unlike one (src/posts/published-counters.ts).
   */
  userPostCounts: (userId: string): ItemKey => ({ PK: `USER#${userId}`, SK: 'USER#POSTS' }),
  /**
   * Where the stream processor got in copying a user's new name to their posts and comments, when
   * one run did not finish it (issue 17): outside the user aggregate's `USER#` prefix, so the user
   * views never read it; its own stream record continues the copy.
   */
  displayFanoutJob: (userId: string): ItemKey => ({ PK: `USER#${userId}`, SK: 'FANOUT#AUTHOR_DISPLAY' }),
  /**
   * Where the stream processor got in telling an author's followers that the author went fan-in
   * (review 12, M2): a page of followers a step, each step's write the record of the next. Beside
   * the display job, outside the user aggregate's `USER#` prefix.
   */
  fanInPromotionJob: (userId: string): ItemKey => ({ PK: `USER#${userId}`, SK: 'FANOUT#FAN_IN' }),
  /** A post in a reader's timeline (fan-out on write), newest first by `<publishedAt>#<postId>`. */
  timelineEntry: (userId: string, publishedAt: string, postId: string): ItemKey => ({
    PK: `TIMELINE#${userId}`,
    SK: `${publishedAt}#${postId}`,
  }),
  timelinePartition: (userId: string): string => `TIMELINE#${userId}`,
  /**
   * A reader's timeline entries counted per publication day (`d<yyyymmdd>`), written with them by
   * the stream processor: the personal feed's exact count (src/posts/feed-days.ts). In the user's
   * partition, so the account erasure removes it, and outside the aggregate's `USER` prefix, so
   * the user views never read it.
   */
  feedDays: (userId: string): ItemKey => ({ PK: `USER#${userId}`, SK: 'FEED#DAYS' }),
  // --- outbound events and webhooks (issue 17) ---
  /** An outbound event (`post.published`...), made by the stream processor; its deliveries share its partition. */
  outboundEvent: (eventId: string): ItemKey => ({ PK: `EVENT#${eventId}`, SK: 'EVENT' }),
  /** One event's delivery to one webhook (`target`: a hash of the URL, never the URL itself). */
  webhookDelivery: (eventId: string, target: string): ItemKey => ({
    PK: `EVENT#${eventId}`,
    SK: `DELIVERY#${target}`,
  }),
  /**
   * Every webhook any dispatcher was started with (`targets`: a string set of their 16-hex ids):
   * one that is no longer in `WEBHOOK_URLS` has its pending deliveries dropped (review 22 W).
   */
  webhookTargets: { PK: 'WEBHOOKS#TARGETS', SK: 'TARGETS' },
  /** That the demo data (`npm run db:seed`) was written: a second run adds nothing. */
  seedMarker: (name: string): ItemKey => ({ PK: `SEED#${name}`, SK: 'SEED' }),
  /** A fixed-window counter: `scope` names what is limited, `window` its start (epoch seconds). */
  rateLimit: (scope: string, window: number): ItemKey => ({ PK: `RATE#${scope}`, SK: `WINDOW#${window}` }),
} as const;

/** A user's position in the admin listings: newest first in each. */
export interface UserIndexFields {
  id: string;
  createdAt: string;
  role: string;
  status: string;
}

/** The listing partitions before their shard suffix (src/dynamo/sharding.ts). */
const usersBase = (filter: { role?: string; status?: string }): string => {
  if (filter.role && filter.status) return `USERS#ROLE#${filter.role}#STATUS#${filter.status}`;
  if (filter.role) return `USERS#ROLE#${filter.role}`;
  if (filter.status) return `USERS#STATUS#${filter.status}`;
  return 'USERS';
};

export const UserIndexKeys = {
  /**
   * All four listings (all users; by status; by role; by role and status), each sharded by the
   * user's id so that registrations spread over `INDEX_SHARDS` partitions per listing; `shard` is
   * a placeholder only in the declared schema.
   */
  forUser: (user: UserIndexFields, shard: number | string = shardOf(user.id)) => {
    const sort = `${user.createdAt}#${user.id}`;
    return {
      GSI1PK: shardPartition(usersBase({}), shard),
      GSI1SK: sort,
      GSI2PK: shardPartition(usersBase({ status: user.status }), shard),
      GSI2SK: sort,
      GSI3PK: shardPartition(usersBase({ role: user.role }), shard),
      GSI3SK: sort,
      GSI4PK: shardPartition(usersBase({ role: user.role, status: user.status }), shard),
      GSI4SK: sort,
    };
  },
  /** Which index serves a listing filter, and its partition before the shard suffix (merged on read). */
  listing: (filter: { role?: string; status?: string }): { index: GsiName; base: string } => {
    const base = usersBase(filter);
    if (filter.role && filter.status) return { index: GSI.GSI4.name, base };
    if (filter.role) return { index: GSI.GSI3.name, base };
    if (filter.status) return { index: GSI.GSI2.name, base };
    return { index: GSI.GSI1.name, base };
  },
} as const;

/**
 * Expiring items that hold a user's id outside the user's partition (reset and verification
 * tokens, idempotency records) carry GSI3 keys under `OWNED#<userId>`, so that the personal-data
 * export and self-erasure find them with one Query. Added by migration 0001.
 */
export const OwnedIndexKeys = {
  actionToken: (userId: string, createdAt: string) => ({ GSI3PK: `OWNED#${userId}`, GSI3SK: `TOKEN#${createdAt}` }),
  idempotency: (userId: string, key: string) => ({ GSI3PK: `OWNED#${userId}`, GSI3SK: `IDEMPOTENCY#${key}` }),
  partition: (userId: string): string => `OWNED#${userId}`,
  /** The user id in an idempotency record's key (`IDEMPOTENCY#<userId>#<key>`; ids have no `#`). */
  idempotencyOwner: (pk: string): string => pk.split('#')[1],
} as const;

/** The exact count of active admins, kept in the same transactions as role and status changes. */
export const ADMIN_COUNTER_KEY: ItemKey = { PK: 'STATS#USERS', SK: 'ACTIVE_ADMINS' };

/** Tags by name (GSI1, lower-cased name) and by post count (GSI5, numeric, kept with ADD). */
export const TagIndexKeys = {
  byName: (tag: { id: string; name: string }) => ({ GSI1PK: 'TAGS', GSI1SK: `${tag.name.toLowerCase()}#${tag.id}` }),
  byCount: (postCount: number) => ({ GSI5PK: 'TAGS', GSI5SK: postCount }),
  partition: 'TAGS',
} as const;

/** The month bucket (`YYYY-MM`) of the global feed for a publication time. */
export const feedBucket = (publishedAt: string): string => publishedAt.slice(0, 7);

/** Index keys of a post summary: the feeds it appears in. */
const feedPartition = (month: string): string => `FEED#${month}`;
const authorPublishedPartition = (authorId: string): string => `AUTHOR#${authorId}#PUBLISHED`;
const ownPostsPartition = (authorId: string): string => `AUTHOR#${authorId}#POSTS`;
const ownPostsByStatusPartition = (authorId: string, status: string): string => `AUTHOR#${authorId}#STATUS#${status}`;
const likesPartition = (userId: string): string => `LIKES#${userId}`;

export const PostIndexKeys = {
  /** Global feed (GSI1, by month) and author feed (GSI2): only published or scheduled posts. */
  published: (post: { id: string; authorId: string; publishedAt: string }) => ({
    GSI1PK: feedPartition(feedBucket(post.publishedAt)),
    GSI1SK: `${post.publishedAt}#${post.id}`,
    GSI2PK: authorPublishedPartition(post.authorId),
    GSI2SK: `${post.publishedAt}#${post.id}`,
  }),
  /** The author's own listing, all statuses (GSI3) and by status (GSI4). */
  own: (post: { id: string; authorId: string; createdAt: string; status: string }) => ({
    GSI3PK: ownPostsPartition(post.authorId),
    GSI3SK: `${post.createdAt}#${post.id}`,
    GSI4PK: ownPostsByStatusPartition(post.authorId, post.status),
    GSI4SK: `${post.createdAt}#${post.id}`,
  }),
  /** A user's likes, newest first (GSI2 on the like item). */
  like: (userId: string, likedAt: string, postId: string) => ({
    GSI2PK: likesPartition(userId),
    GSI2SK: `${likedAt}#${postId}`,
  }),
  feedPartition,
  authorPublishedPartition,
  ownPostsPartition,
  ownPostsByStatusPartition,
  likesPartition,
} as const;

/**
 * Index keys of a timeline entry (GSI6, sparse: keys only and `path`, which an entry has not):
 * one reader's entries of one author, by position, so an unfollow reads only what that author put
 * in the reader's timeline (review 21a, M4), not the reader's whole window.
 */
const timelinePairPartition = (readerId: string, authorId: string): string => `TIMELINE#${readerId}#AUTHOR#${authorId}`;
export const TimelineIndexKeys = {
  pairPartition: timelinePairPartition,
  entry: (readerId: string, authorId: string, publishedAt: string, postId: string) => ({
    GSI6PK: timelinePairPartition(readerId, authorId),
    GSI6SK: `${publishedAt}#${postId}`,
  }),
} as const;

/** Index keys of a follow: the author's followers (GSI1) and the follower's following (GSI2), newest first. */
export const FollowIndexKeys = {
  edge: (followerId: string, authorId: string, followedAt: string) => ({
    GSI1PK: `FOLLOWERS#${authorId}`,
    GSI1SK: `${followedAt}#${followerId}`,
    GSI2PK: `FOLLOWING#${followerId}`,
    GSI2SK: `${followedAt}#${authorId}`,
  }),
  followers: (authorId: string): string => `FOLLOWERS#${authorId}`,
  following: (followerId: string): string => `FOLLOWING#${followerId}`,
} as const;

const EVENTS_BASE = 'EVENTS';

/**
 * Index keys of outbound events (GSI1): every event newest first (`GET /admin/events`), the
 * deliveries due for an attempt (oldest due first) and the dead-lettered deliveries. A delivery is
 * in one of the two delivery partitions while pending or dead, in none once delivered (sparse).
 */
export const EventIndexKeys = {
  /** Sharded by the event's id (src/dynamo/sharding.ts): every outbound event writes one of them. */
  event: (occurredAt: string, eventId: string, shard: number | string = shardOf(eventId)) => ({
    GSI1PK: shardPartition(EVENTS_BASE, shard),
    GSI1SK: `${occurredAt}#${eventId}`,
  }),
  /**
   * A pending delivery, in its webhook's own due partition (migration 0013): the dispatcher reads
   * only the partitions of webhooks with room, and no partition takes every webhook's writes.
   */
  due: (dueAt: string, eventId: string, target: string) => ({
    GSI1PK: `WEBHOOKS#DUE#${target}`,
    GSI1SK: `${dueAt}#${eventId}#${target}`,
  }),
  dead: (failedAt: string, eventId: string, target: string) => ({
    GSI1PK: 'WEBHOOKS#DEAD',
    GSI1SK: `${failedAt}#${eventId}#${target}`,
  }),
  /** The events partition before its shard suffix (merged on read). */
  eventsBase: EVENTS_BASE,
  duePartition: (target: string) => `WEBHOOKS#DUE#${target}`,
  /**
   * Every webhook's pending deliveries before migration 0013; still read by the dispatcher until
   * 0013 is applied, for what a version before it wrote during a rolling deploy.
   */
  legacyDuePartition: 'WEBHOOKS#DUE',
  deadPartition: 'WEBHOOKS#DEAD',
  /** An event that names a user (GSI3 `OWNED#<userId>`): the user's erasure removes it. */
  owned: (userId: string, occurredAt: string, eventId: string) => ({
    GSI3PK: OwnedIndexKeys.partition(userId),
    GSI3SK: `EVENT#${occurredAt}#${eventId}`,
  }),
} as const;

const MODERATION_BASE = 'MODERATION#pending';

/** Index keys of a comment (the moderation queue, GSI1, pending only) and of its pointer (the commenter's comments, GSI6). */
export const CommentIndexKeys = {
  /**
   * The moderation queue, sharded by the comment's id (src/dynamo/sharding.ts) as the user
   * listings are: every pending comment of the platform wrote one partition (migration 0011).
   */
  moderation: (c: { createdAt: string; postId: string; id: string }, shard: number | string = shardOf(c.id)) => ({
    GSI1PK: shardPartition(MODERATION_BASE, shard),
    GSI1SK: `${c.createdAt}#${c.postId}#${c.id}`,
  }),
  /** The queue's partition before its shard suffix (merged on read). */
  moderationBase: MODERATION_BASE,
  /** A user's comment likes (GSI2): found and removed when the user is hard-deleted. */
  like: (userId: string, likedAt: string, commentId: string) => ({
    GSI2PK: `CLIKES#${userId}`,
    GSI2SK: `${likedAt}#${commentId}`,
  }),
  likesPartition: (userId: string): string => `CLIKES#${userId}`,
  /**
   * A commenter's comments on GSI6, carried by the small pointer item (projection: the path):
   * by status, newest first within it. The approved ones are the public listing; all of them are
   * what a hard delete anonymises and the personal-data export lists.
   */
  commenter: (c: { authorId: string; status: string; createdAt: string; id: string }) => ({
    GSI6PK: `COMMENTER#${c.authorId}`,
    GSI6SK: `${c.status}#${c.createdAt}#${c.id}`,
  }),
  commenterPartition: (authorId: string): string => `COMMENTER#${authorId}`,
  /** Sort-key prefix of a commenter's approved comments on GSI6. */
  commenterApprovedPrefix: 'approved#',
} as const;
