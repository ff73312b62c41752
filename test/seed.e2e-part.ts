import { jest } from '@jest/globals';
import { DEMO_USERS, seedDemoData } from '../src/cli/seed-data.js';
import { TaxonomyService } from '../src/taxonomy/taxonomy.service.js';
import { createTestApp, type TestApp } from './helpers/test-app.js';

describe('db:seed (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('fills every module with consistent demo data, and a second run changes nothing', async () => {
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await seedDemoData(t.app);
      const afterFirst = (await t.allItems()).length;
      await seedDemoData(t.app);
      expect((await t.allItems()).length).toBe(afterFirst);
    } finally {
      log.mockRestore();
      write.mockRestore();
    }

    for (const demo of DEMO_USERS) {
      const res = await t.api
        .post('/api/v1/auth/login')
        .send({ email: demo.email, password: demo.password })
        .expect(200);
      expect(res.body.user.role).toBe(demo.role);
    }
    await t.mailSent(); // the posts' likeCount counts the likes once the stream folded them
    const feed = await t.api.get('/api/v1/posts').expect(200);
    expect(feed.body.items).toHaveLength(3);
    expect(
      feed.body.items.every(
        (p: { likeCount: number; commentCount: number }) => p.likeCount === 2 && p.commentCount === 3,
      ),
    ).toBe(true);
    const tree = await t.api.get('/api/v1/categories').expect(200);
    expect(tree.body.items.map((c: { slug: string }) => c.slug)).toEqual(['technology', 'culture']);
    const moderator = await t.api
      .post('/api/v1/auth/login')
      .send({ email: 'moderator@demo.example', password: 'demo-moderator-pass' })
      .expect(200);
    const queue = await t.api
      .get('/api/v1/comments/moderation')
      .set('authorization', `Bearer ${moderator.body.accessToken}`)
      .expect(200);
    expect(queue.body.items).toHaveLength(3);
    const author = await t.api
      .post('/api/v1/auth/login')
      .send({ email: 'author@demo.example', password: 'demo-author-pass' })
      .expect(200);
    const own = await t.api
      .get('/api/v1/users/me/posts')
      .set('authorization', `Bearer ${author.body.accessToken}`)
      .expect(200);
    expect(own.body.items.map((p: { status: string }) => p.status).sort()).toEqual([
      'draft',
      'published',
      'published',
      'published',
      'scheduled',
    ]);
    expect(await t.app.get(TaxonomyService).tagCountDrift()).toEqual([]);
  });
});
