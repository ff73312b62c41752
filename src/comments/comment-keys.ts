/**
 * The sort key of the comment a reply is attached to: the reply's key without its last path
 * segment (`COMMENT#<root>/<reply>` -> `COMMENT#<root>`), or undefined for a top-level comment.
 * What `replyCount` counts, for the tools that recount it (`db:check-counts`, migration 0002).
 */
export const parentCommentKey = (sortKey: string): string | undefined => {
  const cut = sortKey.lastIndexOf('/');
  return cut < 0 ? undefined : sortKey.slice(0, cut);
};
