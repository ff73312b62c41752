// The DynamoDB calls of a request alone (`BENCH_PEER_BARE=1 npm run bench:peer`, docs/performance.md,
// "Session 23: the floor"): a process of its own with the app's client as `createDocumentClient` builds it
// (`createDynamoClient` of the same configuration: the gate, the accounting, the lean transport), which
// sends, in a loop, the commands the bare app (scripts/bench/bare-app.mjs) recorded for one request of
// each operation, with nothing else around them: no HTTP server, no services, no token, no mapping. Its
// CPU per "request" (one operation's commands, in order) is the floor under the bare app's.
//
// Forked by peer.mjs (IPC with `serialization: 'advanced'`, so that recorded inputs keep their Sets and
// bytes), in the app's environment. Messages:
//   { type: 'prepare', operation, count, plan }  builds `count` requests' commands (not measured), answers
//                                                 { type: 'prepared' }
//   { type: 'run', concurrency, count }          sends them at `concurrency` callers, answers { type: 'done' }
//                                                 or { type: 'failed', error }; the parent reads this
//                                                 process's utime + stime around it
// A plan: { variants: [[{ command, input }, ...], ...], pick, fresh }. `pick` says which variant request i
// sends: 'cycle' (variant i % n: the one-post reads of 16 posts), 'toggle' (caller c alternates variants 2c
// and 2c+1, kept across batches: the like and the unlike of one reader on one post, so each like finds no
// like and each unlike finds one). `fresh`: strings replaced in every request by new ones of the same
// length (ids and names a request creates: the registration's user, session, email; a sign-in's session),
// and `freshLoginKey`: the sign-in's update of the `USER#LOGIN` item goes to a new user's key each time
// (its condition holds once per user), the rest of its transaction stays on the recorded user.
import { BatchGetCommand, BatchWriteCommand, DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { QueryCommand, TransactGetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../dist/config/app-config.js';
import { createDocumentClient, createDynamoClient } from '../../dist/dynamo/dynamo-client.factory.js';

/** The hook's command names (the low-level API's) to lib-dynamodb's commands, which the repositories send. */
const COMMANDS = {
  GetItemCommand: GetCommand,
  PutItemCommand: PutCommand,
  UpdateItemCommand: UpdateCommand,
  DeleteItemCommand: DeleteCommand,
  QueryCommand,
  BatchGetItemCommand: BatchGetCommand,
  BatchWriteItemCommand: BatchWriteCommand,
  TransactGetItemsCommand: TransactGetCommand,
  TransactWriteItemsCommand: TransactWriteCommand,
};
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
const NAME_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

const db = createDocumentClient(createDynamoClient(loadConfig().dynamo));

/** A new string as long as `like`, of the id alphabet (or lower case and digits where `like` is). */
const freshLike = (like) => {
  const alphabet = /^[a-z0-9]+$/.test(like) ? NAME_ALPHABET : ID_ALPHABET;
  const bytes = randomBytes(like.length);
  let out = '';
  for (const byte of bytes) out += alphabet[byte % alphabet.length];
  return out;
};

/** `value` with every string's occurrences of each pair's first replaced by its second. */
function substitute(value, pairs) {
  if (typeof value === 'string') return pairs.reduce((s, [from, to]) => s.replaceAll(from, to), value);
  if (Array.isArray(value)) return value.map((v) => substitute(v, pairs));
  if (value instanceof Set) return new Set([...value].map((v) => substitute(v, pairs)));
  if (value && typeof value === 'object' && value.constructor === Object)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, pairs)]));
  return value;
}

/** The sign-in's `USER#LOGIN` update moved to a new user's key (`freshLoginKey`). */
function moveLoginUpdate(calls) {
  for (const { input } of calls)
    for (const item of input.TransactItems ?? [])
      if (item.Update?.Key?.SK === 'USER#LOGIN') item.Update.Key.PK = `USER#${freshLike('x'.repeat(21))}`;
  return calls;
}

let prepared = { operation: '', plan: { pick: 'cycle' }, variants: [], requests: [] };
/** Each caller's next variant of a 'toggle' plan, by operation (kept across batches). */
const toggles = new Map();

/** One request's calls as command classes and inputs, as a repository sends them. */
const commandsOf = (calls) =>
  calls.map(({ command, input }) => {
    const Command = COMMANDS[command];
    if (!Command) throw new Error(`calls-alone: no lib-dynamodb command for ${command}`);
    return { Command, input };
  });

function prepare({ operation, count, plan }) {
  const fresh = (plan.fresh?.length ?? 0) > 0 || plan.freshLoginKey === true;
  const requests = [];
  // Built here, before the measured run: each request's own inputs where it creates something.
  if (fresh)
    for (let i = 0; i < count; i++) {
      const calls = substitute(
        plan.variants[0],
        (plan.fresh ?? []).map((from) => [from, freshLike(from)]),
      );
      requests.push(commandsOf(plan.freshLoginKey ? moveLoginUpdate(calls) : calls));
    }
  prepared = { operation, plan, fresh, variants: plan.variants.map(commandsOf), requests, next: 0 };
  if (plan.pick === 'toggle' && !toggles.has(operation)) toggles.set(operation, new Array(16).fill(0));
}

async function sendAll(calls) {
  // One after the other, as the services send them.
  for (const { Command, input } of calls) await db.send(new Command(input));
}

async function run({ concurrency, count }) {
  const { operation, plan, fresh, variants, requests } = prepared;
  const toggle = toggles.get(operation);
  // Runs after the first of one preparation go on where it stopped (a fresh request is sent once).
  const end = prepared.next + count;
  if (fresh && end > requests.length) throw new Error(`calls-alone: ${count} more requests than prepared`);
  await Promise.all(
    Array.from({ length: concurrency }, async (_, caller) => {
      while (prepared.next < end) {
        const i = prepared.next++;
        if (fresh) await sendAll(requests[i]);
        else if (plan.pick === 'toggle') {
          const c = caller % 16;
          const variant = 2 * c + toggle[c];
          toggle[c] ^= 1;
          await sendAll(variants[variant]);
        } else await sendAll(variants[i % variants.length]);
      }
    }),
  );
}

process.on('message', (message) => {
  if (message.type === 'prepare') {
    prepare(message);
    process.send({ type: 'prepared' });
  } else if (message.type === 'run') {
    run(message).then(
      () => process.send({ type: 'done' }),
      (error) => process.send({ type: 'failed', error: String(error?.stack ?? error) }),
    );
  } else if (message.type === 'stop') {
    db.destroy();
    process.exit(0);
  }
});
process.send({ type: 'ready' });
// The bench gone (its IPC channel closed): nothing left to do.
process.once('disconnect', () => process.exit(0));
