import { Keys, type ItemKey } from './keys.js';

/**
 * The kinds of item whose changes the processor acts on, recognised by the shape of their key
 * as `src/dynamo/keys.ts` builds it (never a prefix spelled again here). Everything else is `other`.
 */
export type StreamItemType =
  | 'post'
  | 'postCounts'
  | 'like'
  | 'postViewShard'
  | 'postLikeShard'
  | 'postCommentShard'
  | 'commentPointer'
  | 'user'
  | 'comment'
  | 'checkpoint'
  | 'followCounts'
  | 'displayFanoutJob'
  | 'fanInPromotionJob'
  | 'follow'
  | 'mailRequest'
  | 'other';

const POST_PARTITION = Keys.postPartition('');
const POST_COUNTS_SK = Keys.postCounts('').SK;
const VIEW_SHARD_SK = Keys.postViewShard('', 0).SK;
/** `VIEWS#`: the partition prefix of every view counter shard (`VIEWS#<postId>#<n>`). */
const VIEW_SHARD_PARTITION = Keys.postViewShard('', 0).PK.replace(/#+0$/, '#');
/** `POSTLIKES#`: the partition prefix of every like shard (`POSTLIKES#<postId>#<n>`: likes and a counter). */
const LIKE_SHARD_PARTITION = Keys.postLikeShardPartition('', 0).replace(/#+0$/, '#');
const LIKE_SHARD_SK = Keys.postLikeShard('', 0).SK;
/** `POSTCOMMENTS#`: the partition prefix of every comment counter shard (`POSTCOMMENTS#<postId>#<n>`). */
const COMMENT_SHARD_PARTITION = Keys.postCommentShard('', 0).PK.replace(/#+0$/, '#');
const COMMENT_SHARD_SK = Keys.postCommentShard('', 0).SK;
/** `CMTID#`: the partition prefix of every comment pointer (`CMTID#<postId>#<commentId>`). */
const POINTER_PARTITION = Keys.commentPointer('', '').PK.replace(/#+$/, '#');
const POINTER_SK = Keys.commentPointer('', '').SK;
const USER_PARTITION = Keys.userPartition('');
const FOLLOW_COUNTS_SK = Keys.followCounts('').SK;
const DISPLAY_FANOUT_JOB_SK = Keys.displayFanoutJob('').SK;
const FAN_IN_PROMOTION_JOB_SK = Keys.fanInPromotionJob('').SK;
const FOLLOW_EDGE_SK = Keys.follow('', '').SK;
/** `FOLLOW#`: the partition prefix of every follow edge (`FOLLOW#<followerId>#<authorId>`). */
const FOLLOW_EDGE_PARTITION = Keys.follow('', '').PK.replace(/#+$/, '#');

export interface ClassifiedKey {
  type: StreamItemType;
  /**
   * The post's or user's id (the user's for `followCounts`, `fanInPromotionJob` and `mailRequest`, the post's for `comment`, `like`,
   * `postCounts`, `postViewShard`, `postLikeShard`, `postCommentShard` and `commentPointer`; empty for
   * `checkpoint`, `other` and `follow`, whose image holds both users' ids).
   */
  id: string;
}

export function classifyKey(key: ItemKey): ClassifiedKey {
  if (key.PK.startsWith(POST_PARTITION) && key.SK === Keys.post('').SK)
    return { type: 'post', id: key.PK.slice(POST_PARTITION.length) };
  if (key.PK.startsWith(POST_PARTITION) && key.SK === POST_COUNTS_SK)
    return { type: 'postCounts', id: key.PK.slice(POST_PARTITION.length) };
  if (key.PK.startsWith(LIKE_SHARD_PARTITION) && key.SK.startsWith(Keys.likePrefix))
    return { type: 'like', id: key.PK.slice(LIKE_SHARD_PARTITION.length, key.PK.lastIndexOf('#')) };
  if (key.PK.startsWith(LIKE_SHARD_PARTITION) && key.SK === LIKE_SHARD_SK)
    return { type: 'postLikeShard', id: key.PK.slice(LIKE_SHARD_PARTITION.length, key.PK.lastIndexOf('#')) };
  if (key.PK.startsWith(POST_PARTITION) && key.SK.startsWith(Keys.commentPrefix))
    return { type: 'comment', id: key.PK.slice(POST_PARTITION.length) };
  if (key.PK.startsWith(VIEW_SHARD_PARTITION) && key.SK === VIEW_SHARD_SK)
    return { type: 'postViewShard', id: key.PK.slice(VIEW_SHARD_PARTITION.length, key.PK.lastIndexOf('#')) };
  if (key.PK.startsWith(COMMENT_SHARD_PARTITION) && key.SK === COMMENT_SHARD_SK)
    return { type: 'postCommentShard', id: key.PK.slice(COMMENT_SHARD_PARTITION.length, key.PK.lastIndexOf('#')) };
  if (key.PK.startsWith(POINTER_PARTITION) && key.SK === POINTER_SK)
    return { type: 'commentPointer', id: Keys.postOfCommentPointer(key.PK) };
  if (key.PK.startsWith(USER_PARTITION) && key.SK === Keys.user('').SK)
    return { type: 'user', id: key.PK.slice(USER_PARTITION.length) };
  if (key.PK.startsWith(USER_PARTITION) && key.SK === FOLLOW_COUNTS_SK)
    return { type: 'followCounts', id: key.PK.slice(USER_PARTITION.length) };
  if (key.PK.startsWith(USER_PARTITION) && key.SK === DISPLAY_FANOUT_JOB_SK)
    return { type: 'displayFanoutJob', id: key.PK.slice(USER_PARTITION.length) };
  if (key.PK.startsWith(USER_PARTITION) && key.SK === FAN_IN_PROMOTION_JOB_SK)
    return { type: 'fanInPromotionJob', id: key.PK.slice(USER_PARTITION.length) };
  if (key.PK.startsWith(USER_PARTITION) && key.SK.startsWith(Keys.mailRequestPrefix))
    return { type: 'mailRequest', id: key.PK.slice(USER_PARTITION.length) };
  if (key.PK.startsWith(FOLLOW_EDGE_PARTITION) && key.SK === FOLLOW_EDGE_SK) return { type: 'follow', id: '' };
  if (key.PK === Keys.streamCheckpointPartition) return { type: 'checkpoint', id: '' };
  return { type: 'other', id: '' };
}
