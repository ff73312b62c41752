export { ApiClientProvider, useApiClient, type ApiClientProviderProps } from './context.js';
export {
  type Paged,
  useComments,
  useCreatePost,
  useCurrentUser,
  useLikePost,
  usePost,
  usePostsFeed,
  useSignIn,
  useSignOut,
  useUnlikePost,
  useUpdatePost,
} from './hooks.js';
export { type CommentsFilter, type FeedFilter, queryKeys } from './queryKeys.js';
export { cacheRules } from './cacheRules.js';
