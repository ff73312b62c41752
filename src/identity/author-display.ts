/** The most bytes of an author's username or display name copied onto their posts and comments. */
export const AUTHOR_DISPLAY_MAX_BYTES = 64;

/**
 * What a post summary, a feed link or a comment carries of its author, so that a list shows names
 * without a read per author (avatars are not copied). `authorVersion` is the user item's version
 * the copy was taken from: the stream processor's fan-out writes only over an older one, so a
 * replayed or late record never puts back an older name.
 */
export interface AuthorDisplay {
  authorUsername: string;
  authorName?: string;
  authorVersion: number;
}

/** The attributes of `AuthorDisplay`: state saves of posts and comments leave them to the fan-out. */
export const AUTHOR_DISPLAY_FIELDS = ['authorUsername', 'authorName', 'authorVersion'] as const;

/** Cuts `text` to at most `max` UTF-8 bytes, never inside a character. */
export function capBytes(text: string, max = AUTHOR_DISPLAY_MAX_BYTES): string {
  if (Buffer.byteLength(text) <= max) return text;
  let out = '';
  let bytes = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char);
    if (bytes + size > max) break;
    out += char;
    bytes += size;
  }
  return out;
}

/** The display data of a user item (or of its stream image). */
export function authorDisplayOf(user: {
  username: string;
  firstName?: string;
  lastName?: string;
  version: number;
}): AuthorDisplay {
  const name = [user.firstName, user.lastName]
    .filter((part) => typeof part === 'string' && part.trim() !== '')
    .join(' ')
    .trim();
  return {
    authorUsername: capBytes(user.username),
    ...(name ? { authorName: capBytes(name) } : {}),
    authorVersion: user.version,
  };
}

/** Whether two copies show the same thing (the version aside). */
export const sameDisplay = (a: AuthorDisplay, b: AuthorDisplay): boolean =>
  a.authorUsername === b.authorUsername && a.authorName === b.authorName;

/** The fields to spread over an item that loses its author (anonymised, or a comment tombstone). */
export const NO_AUTHOR_DISPLAY = { authorUsername: undefined, authorName: undefined, authorVersion: undefined };

/**
 * The `UpdateItem` parts that write `display` over an item's copy, only where the copy is older
 * (`authorVersion` absent or lower) and, with `authorId`, only while the item is still that
 * author's: a replayed or late record, or an anonymised item, is left as it is (the condition
 * fails). With `within`, the copy is the map attribute of that name (a feed link's summary copy),
 * and an item without that map is left alone; `authorId` is then the copy's, which anonymising
 * rewrites, so a late rename never puts an erased author's name back on a link.
 */
export function authorDisplayUpdate(
  display: AuthorDisplay,
  { authorId, within }: { authorId?: string; within?: string } = {},
): {
  UpdateExpression: string;
  ConditionExpression: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues: Record<string, string | number>;
} {
  const at = within ? '#copy.' : '';
  const values: Record<string, string | number> = {
    ':username': display.authorUsername,
    ':version': display.authorVersion,
  };
  if (display.authorName !== undefined) values[':name'] = display.authorName;
  if (authorId !== undefined) values[':author'] = authorId;
  const conditions = [
    within ? 'attribute_exists(#copy)' : 'attribute_exists(PK)',
    ...(authorId !== undefined ? [`${at}authorId = :author`] : []),
    `(attribute_not_exists(${at}authorVersion) OR ${at}authorVersion < :version)`,
  ];
  return {
    UpdateExpression: `SET ${at}authorUsername = :username, ${at}authorVersion = :version${
      display.authorName !== undefined ? `, ${at}authorName = :name` : ` REMOVE ${at}authorName`
    }`,
    ConditionExpression: conditions.join(' AND '),
    ...(within ? { ExpressionAttributeNames: { '#copy': within } } : {}),
    ExpressionAttributeValues: values,
  };
}

/**
 * The condition that an item's display copy is still the one read (`authorVersion` as in `read`):
 * a save that rewrites copies derived from it (feed links) then cannot put back an older name
 * that the fan-out replaced meanwhile; it fails as a version mismatch and is retried.
 */
export function unchangedAuthorDisplay(read: Partial<AuthorDisplay>): {
  expression: string;
  values: Record<string, number>;
} {
  return read.authorVersion === undefined
    ? { expression: 'attribute_not_exists(authorVersion)', values: {} }
    : { expression: 'authorVersion = :readAuthorVersion', values: { ':readAuthorVersion': read.authorVersion } };
}
