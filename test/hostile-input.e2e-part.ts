import { ADMIN_ENV, createTestApp, signInAdmin, signUp, type SignedIn, type TestApp } from './helpers/test-app.js';

/** Bodies a hostile client sends: deep nesting and prototype keys are 400s before validation. */
describe('hostile bodies (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const raw = (path: string, body: string, bearer?: string) => {
    const req = t.http.post(path).set('content-type', 'application/json');
    if (bearer) req.set('authorization', bearer);
    return req.send(body);
  };

  it('answers 400 payload_too_deep to deeply nested JSON, on any route, before validation', async () => {
    const deep = `{"email":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    for (const path of ['/api/v1/auth/register', '/api/v1/auth/login', '/api/v1/posts']) {
      const res = await raw(path, deep).expect(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe('payload_too_deep');
    }
    // 32 levels are still read (and then refused by validation for what they are).
    const ok = `{"email":${'['.repeat(31)}${']'.repeat(31)},"password":"password-1234"}`;
    const res = await raw('/api/v1/auth/register', ok).expect(400);
    expect(res.body.code).toBe('validation_failed');
  });

  it.each(['__proto__', 'constructor', 'prototype'])('refuses a "%s" key anywhere in a body', async (key) => {
    const user = await signUp(t);
    const top = await raw('/api/v1/auth/login', `{"email":"a@example.com","password":"x","${key}":{"role":"admin"}}`);
    expect(top.status).toBe(400);
    expect(top.body.code).toBe('forbidden_key');
    const nestedRes = await t.http
      .patch('/api/v1/users/me/profile')
      .set('authorization', user.bearer)
      .set('content-type', 'application/json')
      .send(`{"socialLinks":[{"${key}":{"isAdmin":true}}]}`);
    expect(nestedRes.status).toBe(400);
    expect(nestedRes.body.code).toBe('forbidden_key');
    // Nothing reached a prototype, and the account is unchanged.
    expect(({} as Record<string, unknown>).role).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    const me = await t.api.get('/api/v1/users/me').set('authorization', user.bearer).expect(200);
    expect(me.body.role).toBe('user');
  });

  it('refuses lone surrogates and NUL in posts and comments, native and Conduit, naming the field (review 19a L5)', async () => {
    const user = await signUp(t);
    const auth = { authorization: user.bearer };
    const refused = (res: { status: number; body: { code?: string; errors?: { field: string }[] } }) => {
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('validation_failed');
      return res.body.errors?.map((error) => error.field);
    };
    // Raw JSON, so the escapes arrive as written.
    const post = (body: string) =>
      t.http.post('/api/v1/posts').set(auth).set('content-type', 'application/json').send(body);
    expect(refused(await post('{"title":"\\ud800","content":"ok"}'))).toEqual(['title']);
    expect(refused(await post('{"title":"ok","content":"a\\u0000b"}'))).toEqual(['content']);
    expect(refused(await post('{"title":"ok","excerpt":"\\udfff","content":"ok"}'))).toEqual(['excerpt']);
    const mine = await t.http.get('/api/v1/users/me/posts').set(auth).expect(200);
    expect(mine.body.items).toEqual([]);

    const created = await post('{"title":"Dragons \\ud83d\\udc09","content":"Tabs\\tand\\r\\nlines"}').expect(201);
    const id = (created.body as { id: string; title: string }).id;
    expect(created.body.title).toBe('Dragons \u{1F409}');
    const edit = t.http.patch(`/api/v1/posts/${id}`).set(auth).set('content-type', 'application/json');
    expect(refused(await edit.send('{"title":"\\ud800"}'))).toEqual(['title']);
    await t.http.post(`/api/v1/posts/${id}/publish`).set(auth).send({}).expect(200);
    const comment = await t.http
      .post(`/api/v1/posts/${id}/comments`)
      .set(auth)
      .set('content-type', 'application/json')
      .send('{"content":"\\ud800 \\u0000"}');
    expect(refused(comment)).toEqual(['content']);

    // Conduit answers its own 422 {errors: {field: [...]}}, from the same rule.
    const conduit = { authorization: `Token ${user.accessToken}` };
    const article = await t.http
      .post('/api/articles')
      .set(conduit)
      .set('content-type', 'application/json')
      .send('{"article":{"title":"\\ud800","description":"d","body":"b\\u0000"}}')
      .expect(422);
    expect(Object.keys(article.body.errors).sort()).toEqual(['body', 'title']);
    const slug = (created.body as { slug: string }).slug;
    const conduitComment = await t.http
      .post(`/api/articles/${slug}/comments`)
      .set(conduit)
      .set('content-type', 'application/json')
      .send('{"comment":{"body":"\\udc00"}}')
      .expect(422);
    expect(Object.keys(conduitComment.body.errors)).toEqual(['body']);
  });
});

/** Identifiers people read: NFKC, no invisible characters, one script per slug or username. */
describe('identifiers (e2e)', () => {
  let t: TestApp;
  let admin: SignedIn;
  beforeAll(async () => {
    t = await createTestApp(ADMIN_ENV);
    admin = await signInAdmin(t);
  });
  afterAll(() => t.close());

  const tag = (body: object) => t.api.post('/api/v1/tags').set('authorization', admin.bearer).send(body);

  it('refuses slugs that mix scripts or hide characters, and accepts whole-script ones', async () => {
    for (const slug of ['pаypal', 'type\u200Bscript', 'type\u3164script', 'latin-кириллица']) {
      const res = await tag({ name: `Tag ${slug.length}`, slug }).expect(400);
      expect(res.body.code).toBe('validation_failed');
      expect(res.body.errors[0].field).toBe('slug');
    }
    expect((await tag({ name: 'Кириллица', slug: 'кириллица' }).expect(201)).body.slug).toBe('кириллица');
    expect((await tag({ name: '日本語', slug: '日本語のタグ' }).expect(201)).body.slug).toBe('日本語のタグ');
  });

  it('NFKC-normalises slugs and names, so compatibility forms cannot make a lookalike', async () => {
    const created = await tag({ name: 'Ｆｕｌｌｗｉｄｔｈ', slug: 'ｆｕｌｌｗｉｄｔｈ' }).expect(201);
    expect(created.body).toMatchObject({ name: 'Fullwidth', slug: 'fullwidth' });
    const again = await tag({ name: 'Fullwidth again', slug: 'fullwidth' }).expect(409);
    expect(again.body.code).toBe('slug_taken');
    await t.api.get(`/api/v1/tags/by-slug/${encodeURIComponent('ｆｕｌｌｗｉｄｔｈ')}`).expect(200);
  });

  it('refuses names with invisible or filler characters', async () => {
    for (const name of ['\u3164', 'Rust\u200D', '\u115F\u1160']) {
      const res = await tag({ name }).expect(400);
      expect(res.body.errors[0].field).toBe('name');
    }
  });

  it('gives a mixed-script name a generated single-script slug', async () => {
    const res = await tag({ name: 'React на русском' }).expect(201);
    expect(res.body.slug).not.toMatch(/[а-я]/);
    expect(res.body.slug).toMatch(/^[a-z0-9]+$/);
  });

  it('NFKC-normalises usernames and refuses invisible characters in them', async () => {
    const fullwidth = await t.api
      .post('/api/v1/auth/register')
      .send({ email: 'fw@example.com', password: 'password-1234', username: 'ＡＤＡ＿Ｌ' })
      .expect(201);
    expect(fullwidth.body.user.username).toBe('ada_l');
    const clash = await t.api
      .post('/api/v1/auth/register')
      .send({ email: 'fw2@example.com', password: 'password-1234', username: 'ada_l' })
      .expect(409);
    expect(clash.body.code).toBe('username_taken');
    for (const username of ['ada\u200Bl', 'аda_l', 'ada\u3164l']) {
      const res = await t.api
        .post('/api/v1/auth/register')
        .send({ email: `x${username.length}@example.com`, password: 'password-1234', username })
        .expect(400);
      expect(res.body.errors[0].field).toBe('username');
    }
  });
});
