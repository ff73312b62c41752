import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
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

  it('serves text stored before the rule as it is, refuses it sent back, and lets the other fields change (session 20)', async () => {
    const user = await signUp(t);
    const auth = { authorization: user.bearer };
    const created = await t.http
      .post('/api/v1/posts')
      .set(auth)
      .send({ title: 'Legacy', content: 'clean' })
      .expect(201);
    const id = (created.body as { id: string }).id;
    // Written before the rule existed (or by a tool): a form feed and an ESC sequence in the content.
    const legacy = 'Page one\fPage two \u001b[1mbold\u001b[0m';
    await t.db.send(
      new UpdateCommand({
        TableName: t.tableName,
        Key: { PK: `POST#${id}`, SK: 'POST#CONTENT' },
        UpdateExpression: 'SET content = :c',
        ExpressionAttributeValues: { ':c': legacy },
      }),
    );
    const read = await t.http.get(`/api/v1/posts/${id}`).set(auth).expect(200);
    expect(read.body.content).toBe(legacy);
    const patch = (body: object) =>
      t.http.patch(`/api/v1/posts/${id}`).set(auth).set('if-match', String(read.headers.etag)).send(body);

    // Sent back unchanged, it is refused like any new text: 400 naming the field, nothing written.
    const refused = await patch({ title: 'Renamed', content: legacy }).expect(400);
    expect([refused.body.code, refused.body.errors]).toEqual([
      'validation_failed',
      [{ field: 'content', messages: [expect.stringContaining('well-formed text')] }],
    ]);
    expect((await t.http.get(`/api/v1/posts/${id}`).set(auth).expect(200)).body).toMatchObject({
      title: 'Legacy',
      content: legacy,
      version: read.body.version,
    });
    // A change that leaves the content out goes through, and the content stays as it was.
    const renamed = await patch({ title: 'Renamed' }).expect(200);
    expect(renamed.body).toMatchObject({ title: 'Renamed', content: legacy });
    // Cleaning is sending the text without the control characters.
    const cleaned = legacy.replace('\f', '').replaceAll('\u001b', '');
    const saved = await t.http
      .patch(`/api/v1/posts/${id}`)
      .set(auth)
      .set('if-match', String(renamed.headers.etag))
      .send({ content: cleaned })
      .expect(200);
    expect(saved.body.content).toBe('Page onePage two [1mbold[0m');
  });

  it('refuses control characters in names, profiles and Conduit users, and blank comments, writing nothing (session 20)', async () => {
    const user = await signUp(t);
    const auth = { authorization: user.bearer };
    const conduit = { authorization: `Token ${user.accessToken}` };
    const json = (req: ReturnType<typeof t.http.post>, body: string) =>
      req.set('content-type', 'application/json').send(body);
    const fields = (res: { status: number; body: { code?: string; errors?: { field: string }[] } }) => {
      expect([res.status, res.body.code]).toEqual([400, 'validation_failed']);
      return res.body.errors?.map((error) => error.field);
    };
    const profileBefore = (await t.http.get('/api/v1/users/me').set(auth).expect(200)).body as object;

    // Raw JSON, so the escapes arrive as written: ESC, a C1 control (CSI), BEL, a lone surrogate.
    expect(fields(await json(t.http.patch('/api/v1/users/me').set(auth), '{"firstName":"Ada\\u001b[2J"}'))).toEqual([
      'firstName',
    ]);
    const profile = '{"bio":"csi \\u009b31m","location":"\\u0007","website":"https://ada.example/\\ud800"}';
    expect(fields(await json(t.http.patch('/api/v1/users/me/profile').set(auth), profile))?.sort()).toEqual([
      'bio',
      'location',
      'website',
    ]);
    const conduitUser = await json(
      t.http.put('/api/user').set(conduit),
      '{"user":{"bio":"\\u0085","image":"https://a.example/\\u0000"}}',
    );
    expect(conduitUser.status).toBe(422);
    expect(Object.keys(conduitUser.body.errors as object).sort()).toEqual(['bio', 'image']);
    expect((await t.http.get('/api/v1/users/me').set(auth).expect(200)).body).toEqual(profileBefore);
    const conduitProfile = await t.http.get('/api/user').set(conduit).expect(200);
    expect(conduitProfile.body.user).toMatchObject({ bio: null, image: null });

    // A comment that shows nothing: 400 natively, 422 in Conduit's envelope; no comment is written.
    const created = await json(
      t.http.post('/api/v1/posts').set(auth),
      '{"title":"Blank replies","content":"x"}',
    ).expect(201);
    const { id, slug } = created.body as { id: string; slug: string };
    await t.http.post(`/api/v1/posts/${id}/publish`).set(auth).send({}).expect(200);
    for (const blank of ['"   "', '"\\n\\t"', '"\\u200b\\u00a0"']) {
      expect(fields(await json(t.http.post(`/api/v1/posts/${id}/comments`).set(auth), `{"content":${blank}}`))).toEqual(
        ['content'],
      );
      const viaConduit = await json(
        t.http.post(`/api/articles/${slug}/comments`).set(conduit),
        `{"comment":{"body":${blank}}}`,
      );
      expect(viaConduit.status).toBe(422);
      expect(viaConduit.body.errors).toEqual({ body: [expect.stringContaining('must not be blank')] });
    }
    expect((await t.http.get(`/api/v1/posts/${id}/comments`).expect(200)).body.items).toEqual([]);
    // Whitespace-only titles were refused already (trimmed to nothing); now bodies too.
    expect(fields(await json(t.http.post('/api/v1/posts').set(auth), '{"title":"   ","content":"x"}'))).toEqual([
      'title',
    ]);
    expect(fields(await json(t.http.patch(`/api/v1/posts/${id}`).set(auth), '{"content":" \\n "}'))).toEqual([
      'content',
    ]);
  });

  it('answers 400, not 500, to a lone surrogate in an email and to `null` for a username or Conduit email (review 22a L1, L5)', async () => {
    const user = await signUp(t);
    const before = (await t.http.get('/api/v1/users/me').set('authorization', user.bearer).expect(200)).body as object;
    const emailRefused = (res: {
      status: number;
      headers: Record<string, string>;
      body: { code?: string; errors?: unknown };
    }) => {
      expect([res.status, res.body.code]).toEqual([400, 'validation_failed']);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.errors).toEqual([{ field: 'email', messages: ['email must be a valid email address'] }]);
    };
    // Raw JSON, so the escape arrives as written; validator's isEmail threw URIError on it (500).
    const lone = '"a\\ud800@example.com"';
    emailRefused(await raw('/api/v1/auth/register', `{"email":${lone},"password":"password-1234"}`));
    emailRefused(await raw('/api/v1/auth/login', `{"email":${lone},"password":"password-1234"}`));
    emailRefused(await raw('/api/v1/auth/password-reset/request', `{"email":${lone}}`));
    emailRefused(await raw('/api/v1/auth/verify-email/request', `{"email":${lone}}`));
    const conduitLogin = await raw('/api/users/login', `{"user":{"email":${lone},"password":"password-1234"}}`);
    expect(conduitLogin.status).toBe(422);
    expect(Object.keys(conduitLogin.body.errors as object)).toEqual(['email']);

    const native = await t.http
      .patch('/api/v1/users/me')
      .set('authorization', user.bearer)
      .set('content-type', 'application/json')
      .send('{"username":null}');
    expect([native.status, native.body.code]).toEqual([400, 'validation_failed']);
    for (const field of ['username', 'email']) {
      const res = await t.http
        .put('/api/user')
        .set('authorization', `Token ${user.accessToken}`)
        .set('content-type', 'application/json')
        .send(`{"user":{"${field}":null}}`);
      expect(res.status).toBe(422);
      expect(Object.keys(res.body.errors as object)).toEqual([field]);
    }
    expect((await t.http.get('/api/v1/users/me').set('authorization', user.bearer).expect(200)).body).toEqual(before);
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

  it('refuses control characters in tag and category names, descriptions and icons, creating nothing (session 20)', async () => {
    const before = (await t.api.get('/api/v1/tags?limit=100').expect(200)).body.items.length as number;
    const fieldsOf = (res: { body: { code: string; errors: { field: string }[] } }) => {
      expect(res.body.code).toBe('validation_failed');
      return res.body.errors.map((error) => error.field);
    };
    expect(fieldsOf(await tag({ name: 'Bell\u0007', description: 'esc \u001b[0m' }).expect(400))).toEqual([
      'name',
      'description',
    ]);
    const category = await t.api
      .post('/api/v1/categories')
      .set('authorization', admin.bearer)
      .send({ name: 'Books', icon: 'book\u0085' })
      .expect(400);
    expect(fieldsOf(category)).toEqual(['icon']);
    expect((await t.api.get('/api/v1/tags?limit=100').expect(200)).body.items).toHaveLength(before);
    expect((await t.api.get('/api/v1/categories').expect(200)).body.items).toEqual([]);
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
