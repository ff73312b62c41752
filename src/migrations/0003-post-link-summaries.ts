import { marshall } from '@aws-sdk/util-dynamodb';
import { batchGetAll } from '../dynamo/batch.js';
import { createDocumentClient } from '../dynamo/dynamo-client.factory.js';
import { ENTITY, Keys } from '../dynamo/keys.js';
import { toPostLinkItem } from '../posts/post-links.js';
import { countsOf, withCounts } from '../posts/post-counters.js';
import type { PostSummary } from '../posts/post.entity.js';
import type { Item, Migration, MigrationContext } from './migration.js';

/**
 * The post's summary with its counts (summary and counter item in one consistent BatchGetItem,
 * its unprocessed keys retried: a throttled read must not pass for a missing post).
 */
async function readSummary(postId: string, { client, tableName }: MigrationContext): Promise<PostSummary | undefined> {
  const keys = [Keys.post(postId), Keys.postCounts(postId)];
  const items = await batchGetAll(createDocumentClient(client), tableName, keys, { consistentRead: true });
  const summary = items.find((item) => item.SK === Keys.post(postId).SK);
  if (!summary) return undefined;
  return withCounts(summary as PostSummary, countsOf(items.find((item) => item.SK === Keys.postCounts(postId).SK)));
}

/**
 * Tag and category links written before they carried their post's summary: each gets the copy
 * the posts module writes today (capped at 1.2 KB; a post whose summary does not fit keeps a bare
 * link, which the feed reads the old way). The write is conditioned on the link still having no
 * copy, so an edit of the post that lands first (and writes a fresh copy) wins, and a second run
 * changes nothing. A link whose post is gone or no longer published is left alone.
 *
 * Online: the feeds read a bare link's summary with a BatchGetItem, as before, while it runs.
 */
export const postLinkSummaries = {
  version: 3,
  name: 'post-link-summaries',
  description: 'tag and category links carry a copy of their post summary (one Query per feed page)',
  online: true,
  filter: {
    expression: '#entity = :link AND attribute_not_exists(#summary)',
    names: { '#entity': 'entity', '#summary': 'summary' },
    values: { ':link': { S: ENTITY.PostLink } },
  },
  async migrate(item: Item, context: MigrationContext) {
    const postId = item.postId?.S;
    if (item.entity?.S !== ENTITY.PostLink || item.summary !== undefined || !postId) return undefined;
    const summary = await readSummary(postId, context);
    const publishedAt = item.publishedAt?.S;
    if (!summary || summary.status !== 'published' || !publishedAt || summary.publishedAt !== publishedAt)
      return undefined;
    const link = toPostLinkItem({ PK: item.PK.S!, SK: item.SK.S! }, { ...summary, publishedAt });
    const copy = link.summary as Record<string, unknown> | undefined;
    if (copy === undefined) return undefined;
    return {
      description: `${item.PK.S} ${item.SK.S}: summary of post ${postId}`,
      updateExpression: 'SET #summary = :summary',
      conditionExpression: 'attribute_exists(PK) AND attribute_not_exists(#summary)',
      names: { '#summary': 'summary' },
      values: { ':summary': { M: marshall(copy, { removeUndefinedValues: true }) } },
    };
  },
} satisfies Migration;
