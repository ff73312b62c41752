export { createPublishingClient } from './client.js';
export type {
  AuthTokens,
  Comment,
  CommentPage,
  CommentsQuery,
  CreateComment,
  CreatePost,
  FeedQuery,
  FollowState,
  LikeState,
  Me,
  OwnPostsQuery,
  Post,
  PostPage,
  PersonalFeedQuery,
  PostSummary,
  PublishingClient,
  PublishingClientOptions,
  UpdatePost,
  Versioned,
} from './client.js';
export { ProblemError, type ErrorCode, type Problem } from './errors.js';
export { memoryTokenStorage, SharedRefresh, type TokenPair, type TokenStorage } from './tokens.js';
export type { components, operations, paths } from './generated/schema.js';
