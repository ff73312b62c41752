// `npm run test:conduit -- <Conduit.postman_collection.json>`: the official RealWorld API suite
// (its Postman collection, run by newman) against this app's Conduit API (docs/conduit.md).
// It starts the built app on a free loopback port with an in-memory embedded DynamoDB Local, runs
// the collection with APIURL pointing at /api and a fresh user, and stops everything. It fetches
// nothing: the collection is not in the repository; get `api/Conduit.postman_collection.json` from
// https://github.com/gothinkster/realworld and pass its path.
import { existsSync, readFileSync } from 'node:fs';
import newman from 'newman';
import { startLocalApp } from './lib/local-app.mjs';

const collectionPath = process.argv[2];
if (!collectionPath || !existsSync(collectionPath)) {
  console.error(
    'usage: npm run test:conduit -- <path to Conduit.postman_collection.json>\n' +
      '(api/Conduit.postman_collection.json of https://github.com/gothinkster/realworld; it is not in this repository)',
  );
  process.exit(2);
}
const collection = JSON.parse(readFileSync(collectionPath, 'utf8'));

const { base, stop, errors } = await startLocalApp('conduit-suite', {
  CONDUIT_API: 'on',
  // The suite registers, signs in and writes faster than a person would, from one address.
  REGISTER_RATE_MAX_PER_IP: '0',
  CONTENT_RATE_LIMIT_PER_MINUTE: '0',
});

let failures = 1;
try {
  console.log(`- app ready on ${base}`);
  // What the collection's requests use; the user is new on every run (the data is in memory anyway).
  const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const summary = await new Promise((resolve, reject) =>
    newman.run(
      {
        collection,
        envVar: [
          { key: 'APIURL', value: `${base}/api` },
          { key: 'USERNAME', value: `u${suffix}` },
          { key: 'EMAIL', value: `u${suffix}@example.com` },
          { key: 'PASSWORD', value: 'conduit-suite-1234' },
        ],
        reporters: ['cli'],
        delayRequest: 0,
        timeoutRequest: 60_000,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    ),
  );
  const { assertions, requests } = summary.run.stats;
  failures = summary.run.failures.length;
  console.log(
    `Conduit suite: ${requests.total} requests, ${assertions.total - assertions.failed}/${assertions.total} assertions passed, ${failures} failure(s)`,
  );
} catch (error) {
  console.error(`Conduit suite could not run: ${error instanceof Error ? error.message : String(error)}`);
  if (errors()) console.error(`app stderr:\n${errors().slice(-2000)}`);
} finally {
  await stop();
}
process.exit(failures === 0 ? 0 : 1);
