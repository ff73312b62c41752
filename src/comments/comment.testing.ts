/** A comment's stored image for specs (an approved comment by `u2` on `p1`), with `over` applied. */
export const commentImage = (over: Record<string, unknown> = {}) => ({
  id: 'c1',
  postId: 'p1',
  path: 'x',
  authorId: 'u2',
  authorUsername: 'bob',
  status: 'approved' as const,
  deleted: false,
  content: 'hello',
  createdAt: 'then',
  updatedAt: 'then',
  ...over,
});
