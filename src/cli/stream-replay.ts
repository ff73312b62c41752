import { StreamReplay } from '../stream/stream-replay.js';
import { failCommand, runWithAppContext } from './app-context.js';

/**
 * `npm run db:stream-replay [-- --webhooks | --stream] [--dry-run]`: sends dead-lettered webhook
 * deliveries again and re-runs the stream records the worker dead-lettered (both by default).
 * See `src/stream/stream-replay.ts` and docs/streams.md ("Replaying dead letters").
 */
const args = process.argv.slice(2);
const known = new Set(['--webhooks', '--stream', '--dry-run']);
const unknown = args.filter((arg) => !known.has(arg));
if (unknown.length > 0) {
  failCommand(
    `Unknown option ${unknown[0]}. Usage: npm run db:stream-replay -- [--webhooks | --stream] [--dry-run]`,
    2,
  );
}
const dryRun = args.includes('--dry-run');
const onlyOne = args.includes('--webhooks') !== args.includes('--stream');
const webhooks = !onlyOne || args.includes('--webhooks');
const stream = !onlyOne || args.includes('--stream');

runWithAppContext(async (context) => {
  const replay = context.get(StreamReplay);
  if (stream) {
    const results = await replay.replayStreamDeadLetters(dryRun);
    console.log(`Stream dead letters: ${results.length}${dryRun ? ' (dry run: nothing replayed)' : ''}.`);
    for (const r of results) {
      // Position and event name only: the record's key may hold a token hash.
      console.log(
        `  ${r.shardId} ${r.sequenceNumber} ${r.eventName ?? '?'}: ${dryRun ? 'listed' : r.outcome}${r.error && !dryRun ? ` (${r.error})` : ''}`,
      );
    }
    const kept = results.filter((r) => r.outcome !== 'replayed').length;
    if (!dryRun && kept > 0) {
      console.log(
        `${kept} kept: fix the cause and run again; for records no longer in the stream, run npm run db:sweep-orphans.`,
      );
      process.exitCode = 1;
    }
  }
  if (webhooks) {
    const count = await replay.replayWebhookDeadLetters(dryRun);
    console.log(
      dryRun
        ? `Webhook dead letters: ${count} (dry run: nothing replayed).`
        : `Webhook dead letters sent again: ${count} (delivered by the running worker's dispatcher).`,
    );
  }
}).catch(failCommand);
