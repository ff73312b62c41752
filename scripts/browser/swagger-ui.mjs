// `npm run test:browser`: Swagger UI at /docs checked in a real headless Chromium (Debian's
// `chromium`, driven by playwright-core). It starts the built app on a free loopback port with an
// in-memory embedded DynamoDB Local, then, as a reader of the docs would:
//   1. loads /docs and sees every operation of the document rendered;
//   2. runs "Try it out" on a public GET (GET /api/v1/tags) and gets 200;
//   3. signs up through the API, pastes the access token into "Authorize", and runs "Try it out" on
//      an optional-auth route (GET /api/v1/posts/{id} of the user's own draft): 200 only if Swagger
//      UI sent the token;
// with no console error and no request leaving 127.0.0.1. Not part of `npm test` (it needs Chromium).
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { startLocalApp } from '../lib/local-app.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// Without the background-networking flags Chromium tries to reach Google's hosts at start.
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const STEP_TIMEOUT_MS = 60_000;

if (!existsSync(CHROMIUM)) {
  console.error(
    `Chromium is not at ${CHROMIUM}: install it with \`sudo apt-get install -y chromium\` (Debian) or set CHROMIUM_PATH to a Chromium binary.`,
  );
  process.exit(1);
}
const { base, stop, errors } = await startLocalApp('swagger-ui-check', { API_DOCS: 'true' });

let browser;
const failures = [];
const step = (message) => console.log(`- ${message}`);
try {
  step(`app ready on ${base}`);
  const document = await (await fetch(`${base}/docs-json`)).json();
  const operationCount = Object.values(document.paths).reduce((n, item) => n + Object.keys(item).length, 0);

  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  const page = await browser.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  page.on('console', (message) => {
    if (message.type() === 'error') failures.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => failures.push(`page error: ${error.message}`));
  await page.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === '127.0.0.1' || url.protocol === 'data:') return route.continue();
    failures.push(`request outside loopback: ${url.href}`);
    return route.abort();
  });

  // 1. Every operation renders.
  await page.goto(`${base}/docs`);
  await page.waitForSelector('.opblock');
  const rendered = await page.locator('.opblock').count();
  if (rendered !== operationCount) failures.push(`${rendered} operations rendered, the document has ${operationCount}`);
  step(`/docs renders ${rendered} operations (the document has ${operationCount})`);

  // 2. "Try it out" on a public GET.
  const tags = await tryItOut(page, 'tags', 'tagsList');
  if (tags !== '200') failures.push(`GET /api/v1/tags answered ${tags} in Swagger UI`);
  step(`Try it out: GET /api/v1/tags -> ${tags}`);

  // 3. Authorize with a real token, then an optional-auth route that answers 200 only with it.
  const registered = await post('/api/v1/auth/register', {
    email: `swagger-ui-${Date.now()}@example.com`,
    password: 'browser-check-1234',
  });
  const draft = await post(
    '/api/v1/posts',
    { title: 'Seen only by its author', content: 'A draft.' },
    registered.accessToken,
  );
  const anonymous = await fetch(`${base}/api/v1/posts/${draft.id}`);
  if (anonymous.status !== 404) failures.push(`the draft answered ${anonymous.status} without a token`);
  await page.click('.auth-wrapper .authorize');
  // The dialog lists both schemes (user bearer, metrics token): fill the user one.
  const scheme = page
    .locator('.modal-ux .auth-container')
    .filter({ has: page.locator('h4', { hasText: /^bearer\b/ }) });
  await scheme.locator('input').fill(registered.accessToken);
  await scheme.locator('button.authorize').click();
  await page.locator('.modal-ux button.btn-done').first().click();
  step('Authorize: access token entered');
  const withToken = await tryItOut(page, 'posts', 'postsGet', { id: draft.id });
  if (withToken !== '200')
    failures.push(`GET /api/v1/posts/{id} of the caller's draft answered ${withToken} in Swagger UI`);
  step(`Try it out with the token: GET /api/v1/posts/{id} (own draft) -> ${withToken}`);
} catch (error) {
  failures.push(error instanceof Error ? error.message : String(error));
} finally {
  await browser?.close();
  await stop();
}

if (failures.length > 0) {
  console.error(`Swagger UI check failed:\n${failures.map((f) => `  ${f}`).join('\n')}`);
  if (errors()) console.error(`app stderr:\n${errors().slice(-2000)}`);
  process.exit(1);
}
console.log('Swagger UI check passed: 3 passed, 0 failed');

/** Expands an operation, runs "Try it out" with the given parameters, returns the status shown. */
async function tryItOut(page, tag, operationId, parameters = {}) {
  const block = page.locator(`#operations-${tag}-${operationId}`);
  await block.locator('.opblock-summary').first().click();
  await block.locator('button.try-out__btn').click();
  for (const [name, value] of Object.entries(parameters)) {
    await block.locator(`tr[data-param-name="${name}"] input`).fill(value);
  }
  await block.locator('button.execute').click();
  const status = block.locator('.live-responses-table .response .response-col_status').first();
  await status.waitFor();
  return (await status.innerText()).trim().split(/\s/)[0];
}

async function post(path, body, token) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`POST ${path} answered ${res.status}: ${await res.text()}`);
  return res.json();
}
