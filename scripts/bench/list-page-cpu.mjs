// In-process micro benchmark of a list page's data path (session 16, docs/performance.md): CPU per
// page of 20 post summaries from the feed Query's answer text to the DTOs, the way before session 16
// (whole index entries: keys and four index keys included; the answer searched for `"B":` first to
// pick a reviver; each entry stripped of its internal attributes; `toISOString` per status check)
// against now (the entries as `SUMMARY_PROJECTION` asks for them, a plain parse, binaries decoded by
// `fromAttr`, no strip, the instant's ISO string kept). Both run the built app's own functions
// (unmarshalling, counts, filter, mapper); only the "before" parse, strip and status check are
// spelled here. Interleaved rounds, CPU time of this process (utime + stime).
// Run after a build: node scripts/bench/list-page-cpu.mjs   (LIST_PAGE_CPU_COUNT pages a round, default 5,000)
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { unmarshallOutput } from '../../dist/dynamo/lean-dynamo-client.js';
import { stripInternal } from '../../dist/dynamo/items.js';
import { SUMMARY_ATTRIBUTES, isLive } from '../../dist/posts/post.entity.js';
import { PostMapper } from '../../dist/posts/post.mapper.js';
import { withCounts } from '../../dist/posts/post-counters.js';
import { toPostSummaryItem } from '../../dist/posts/posts.repository.js';

const COUNT = Number(process.env.LIST_PAGE_CPU_COUNT ?? 5000);
const ROUNDS = 5;
const BODY_EXCERPT = 'A sentence of a realistic post body, long enough to matter. '.repeat(5).slice(0, 280);

// Twenty published posts as `bench:profile` creates them (three tags, the author's display copy).
const summaries = Array.from({ length: 20 }, (_, i) => ({
  id: `01JD${String(i).padStart(22, 'X')}`,
  authorId: '01JDAUTHORAUTHORAUTHORAUTHO',
  authorUsername: 'bench-author',
  authorName: 'Bench Author',
  authorVersion: 1,
  title: `Post ${i}`,
  slug: `post-${i}`,
  excerpt: BODY_EXCERPT,
  tagIds: ['01JDTAGTAGTAGTAGTAGTAGTAG1', '01JDTAGTAGTAGTAGTAGTAGTAG2', '01JDTAGTAGTAGTAGTAGTAGTAG3'],
  status: 'published',
  publishedAt: `2026-11-27T15:${String(i).padStart(2, '0')}:00.000Z`,
  viewCount: 0,
  likeCount: 0,
  commentCount: 0,
  createdAt: `2026-11-27T14:${String(i).padStart(2, '0')}:00.000Z`,
  updatedAt: `2026-11-27T15:${String(i).padStart(2, '0')}:00.000Z`,
  version: 2,
}));
const pick = (item, names) =>
  Object.fromEntries(names.filter((name) => name in item).map((name) => [name, item[name]]));
const answer = (items) =>
  JSON.stringify({
    Items: items.map((item) => marshall(item, { removeUndefinedValues: true })),
    Count: items.length,
    ScannedCount: items.length,
    ConsumedCapacity: { TableName: 'publishing', CapacityUnits: 2.5 },
  });
const stored = summaries.map(toPostSummaryItem);
const wholeText = answer(stored);
const projectedText = answer(stored.map((item) => pick(item, SUMMARY_ATTRIBUTES)));
const nodes = new QueryCommand({ TableName: 't' }).outputKeyNodes;
const counts = { viewCount: 3, likeCount: 2, commentCount: 1 };

// Before session 16: the transport's parse and the feed's per-item work.
const binaryReviver = (key, value) => (key === 'B' && typeof value === 'string' ? Buffer.from(value, 'base64') : value);
const hasBinary = (text) => text.includes('"B":') || text.includes('"BS":');
const statusBefore = (post, now) =>
  post.status === 'published' && post.publishedAt && post.publishedAt > now.toISOString() ? 'scheduled' : post.status;
function beforeOf(text) {
  const output = unmarshallOutput(JSON.parse(text, hasBinary(text) ? binaryReviver : undefined), nodes);
  const at = new Date();
  const items = output.Items.map((item) => withCounts(stripInternal(item), counts)).filter(
    (post) => statusBefore(post, at) === 'published',
  );
  return items.map((post) => ({ ...PostMapper.summary(post, at), status: statusBefore(post, new Date()) }));
}
const before = () => beforeOf(wholeText);
/** The projection alone: the code of before on the projected answer. */
const projectedOnly = () => beforeOf(projectedText);
function after() {
  const output = unmarshallOutput(JSON.parse(projectedText), nodes);
  const at = new Date();
  const items = output.Items.map((item) => withCounts(item, counts)).filter((post) => isLive(post, at));
  return items.map((post) => PostMapper.summary(post, new Date()));
}

const cpuMs = (fn) => {
  const start = process.cpuUsage();
  for (let i = 0; i < COUNT; i++) fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
};
if (new Set([before, projectedOnly, after].map((fn) => JSON.stringify(fn()))).size !== 1)
  throw new Error('the two paths give different pages');
console.log(
  `answer of a page of 20: ${wholeText.length} bytes whole, ${projectedText.length} projected; ${COUNT} pages a round`,
);
const perPage = (ms) => `${((ms / COUNT) * 1000).toFixed(0)} us/page`;
for (let round = 1; round <= ROUNDS; round++) {
  const runs = [
    ['before', before],
    ['the projection alone', projectedOnly],
    ['after', after],
  ];
  // Alternate rounds run them in reverse order.
  const timed = (round % 2 ? runs : [...runs].reverse()).map(([name, fn]) => [name, cpuMs(fn)]);
  timed.sort((x, y) => runs.findIndex(([n]) => n === x[0]) - runs.findIndex(([n]) => n === y[0]));
  console.log(
    `round ${round}${round === 1 ? ' (warm-up)' : ''}: ${timed.map(([n, ms]) => `${n} ${perPage(ms)}`).join(', ')}`,
  );
}
