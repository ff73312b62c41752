import { jest } from '@jest/globals';
import { databaseTimeout } from '../src/dynamo/dynamo-errors.js';
import { PostsService } from '../src/posts/posts.service.js';
import { TaxonomyService } from '../src/taxonomy/taxonomy.service.js';
import {
  ADMIN_ENV,
  createTestApp,
  dynamoCost,
  signInAdmin,
  signUpWithRole,
  type SignedIn,
  type TestApp,
} from './helpers/test-app.js';

describe('taxonomy (e2e)', () => {
  let t: TestApp;
  let admin: SignedIn;
  let moderator: SignedIn;
  let user: SignedIn;

  beforeAll(async () => {
    t = await createTestApp(ADMIN_ENV);
    admin = await signInAdmin(t);
    moderator = await signUpWithRole(t, admin, 'moderator');
    user = await signUpWithRole(t, admin, 'user');
  });
  afterAll(async () => {
    await t.close();
  });

  const createCategory = (body: object, as: SignedIn = admin) =>
    t.api.post('/api/v1/categories').set('authorization', as.bearer).send(body);
  const createTag = (body: object, as: SignedIn = moderator) =>
    t.api.post('/api/v1/tags').set('authorization', as.bearer).send(body);

  describe('categories', () => {
    it('builds a tree of several levels, ordered by sortOrder then name, from one Query', async () => {
      const root = (await createCategory({ name: 'Tree Root', sortOrder: 1 }).expect(201)).body;
      const b = (await createCategory({ name: 'Beta', parentId: root.id, sortOrder: 2 }).expect(201)).body;
      const a = (await createCategory({ name: 'alpha', parentId: root.id, sortOrder: 2 }).expect(201)).body;
      const first = (await createCategory({ name: 'Zulu', parentId: root.id, sortOrder: 0 }).expect(201)).body;
      const leaf = (await createCategory({ name: 'Leaf', parentId: a.id }).expect(201)).body;

      const res = await t.api.get('/api/v1/categories').expect(200);
      expect(dynamoCost(res).calls).toBe(1);
      const node = res.body.items.find((n: { id: string }) => n.id === root.id);
      expect(node.children.map((c: { id: string }) => c.id)).toEqual([first.id, a.id, b.id]);
      expect(node.children[1].children.map((c: { id: string }) => c.id)).toEqual([leaf.id]);

      const detail = await t.api.get(`/api/v1/categories/by-slug/${leaf.slug}`).expect(200);
      expect(detail.body.ancestors.map((c: { id: string }) => c.id)).toEqual([root.id, a.id]);
      expect(detail.headers.etag).toBe('"1"');
      const middle = await t.api.get(`/api/v1/categories/by-slug/${a.slug}`).expect(200);
      expect(middle.body.children.map((c: { id: string }) => c.id)).toEqual([leaf.id]);
    });

    it('reorders with sortOrder and refuses moves into its own subtree (409 category_cycle)', async () => {
      const top = (await createCategory({ name: 'Cycle Top' }).expect(201)).body;
      const mid = (await createCategory({ name: 'Cycle Mid', parentId: top.id }).expect(201)).body;
      const low = (await createCategory({ name: 'Cycle Low', parentId: mid.id }).expect(201)).body;
      const patch = (id: string, body: object) =>
        t.api.patch(`/api/v1/categories/${id}`).set('authorization', admin.bearer).send(body);
      expect((await patch(top.id, { parentId: low.id }).expect(409)).body.code).toBe('category_cycle');
      expect((await patch(top.id, { parentId: top.id }).expect(409)).body.code).toBe('category_cycle');
      const moved = await patch(low.id, { parentId: null, sortOrder: -5 }).expect(200);
      expect(moved.body.parentId).toBeUndefined();
      expect(moved.body.sortOrder).toBe(-5);
      const tree = await t.api.get('/api/v1/categories').expect(200);
      const tops = (tree.body.items as { id: string }[]).map((n) => n.id);
      // both are top-level, and sortOrder -5 puts the moved one first
      expect(tops.filter((id) => id === low.id || id === top.id)).toEqual([low.id, top.id]);
      expect((await patch(mid.id, { name: 'x' }).set('if-match', '"9"').expect(412)).body.code).toBe(
        'version_mismatch',
      );
    });

    describe('tree changes at the same time (review 21a M1, M2, L1)', () => {
      type Node = { id: string; parentId?: string; children: Node[] };
      const patch = (id: string, body: object) =>
        t.api.patch(`/api/v1/categories/${id}`).set('authorization', admin.bearer).send(body);
      const publishedIn = async (categoryId: string, title: string) => {
        const post = (
          await t.api
            .post('/api/v1/posts')
            .set('authorization', user.bearer)
            .send({ title, content: 'x', categoryId })
            .expect(201)
        ).body as { id: string };
        await t.api.post(`/api/v1/posts/${post.id}/publish`).set('authorization', user.bearer).expect(200);
        return post;
      };
      /** Every category reachable from the tree's roots, with the parent it is listed under. */
      const listed = async () => {
        const parentOf = new Map<string, string | undefined>();
        const walk = (node: Node, parent?: string) => {
          parentOf.set(node.id, parent);
          node.children.forEach((child) => walk(child, node.id));
        };
        ((await t.api.get('/api/v1/categories').expect(200)).body.items as Node[]).forEach((root) => walk(root));
        return parentOf;
      };

      it('two moves that would close a cycle (X under Z, Z under Y, Y under X): one commits, the other is refused, 12 times', async () => {
        for (let i = 0; i < 12; i++) {
          const x = (await createCategory({ name: `Race X ${i}` }).expect(201)).body;
          const y = (await createCategory({ name: `Race Y ${i}`, parentId: x.id }).expect(201)).body;
          const z = (await createCategory({ name: `Race Z ${i}` }).expect(201)).body;
          const results = await Promise.all([patch(x.id, { parentId: z.id }), patch(z.id, { parentId: y.id })]);
          expect(results.filter((r) => r.status === 200)).toHaveLength(1);
          const refused = results.find((r) => r.status !== 200)!;
          // lost the race on the tree's version (412, retry), or read the winner's move (409)
          expect([`412 version_mismatch`, `409 category_cycle`]).toContain(`${refused.status} ${refused.body.code}`);
          expect(refused.headers['content-type']).toMatch(/problem\+json/);
          const parentOf = await listed();
          for (const c of [x, y, z]) expect(parentOf.has(c.id)).toBe(true);
        }
      });

      it('a deletion whose moveTo moved under one of its children while its posts moved: 409 category_cycle, no cycle', async () => {
        const a = (await createCategory({ name: 'Race Deleted' }).expect(201)).body;
        const c = (await createCategory({ name: 'Race Deleted Child', parentId: a.id }).expect(201)).body;
        const m = (await createCategory({ name: 'Race Move To' }).expect(201)).body;
        const post = await publishedIn(a.id, 'In the deleted category');
        // the seam: the move of moveTo lands while the workflow moves the posts, deterministically
        const posts = t.app.get(PostsService);
        const original = posts.moveCategoryPosts.bind(posts);
        const spy = jest.spyOn(posts, 'moveCategoryPosts').mockImplementationOnce(async (from, to, progress) => {
          await patch(m.id, { parentId: c.id }).expect(200);
          return original(from, to, progress);
        });
        try {
          const res = await t.api
            .delete(`/api/v1/categories/${a.id}?moveTo=${m.id}`)
            .set('authorization', admin.bearer)
            .expect(409);
          expect(res.body.code).toBe('category_cycle');
          // the answer says where the post went (session 22): it stays there, the category stays too
          expect(res.body.movedPostsTo).toBe(m.id);
          expect(res.body.detail).toContain(`1 of its published posts had moved to category ${m.id}`);
          expect(spy).toHaveBeenCalledTimes(1);
        } finally {
          spy.mockRestore();
        }
        const parentOf = await listed();
        expect(parentOf.get(c.id)).toBe(a.id);
        expect(parentOf.get(m.id)).toBe(c.id);
        // the post moved (its own transaction), and is in a category still in the tree
        expect((await t.api.get(`/api/v1/posts/${post.id}`).expect(200)).body.categoryId).toBe(m.id);
      });

      it('a post published into the category while its posts moved: 412, the moved ones stay where the answer says, a retry finishes', async () => {
        const a = (await createCategory({ name: 'Race Refilled' }).expect(201)).body;
        const m = (await createCategory({ name: 'Race Refilled Shelter' }).expect(201)).body;
        const first = [await publishedIn(a.id, 'Moved first'), await publishedIn(a.id, 'Moved second')];
        let late: { id: string } | undefined;
        const posts = t.app.get(PostsService);
        const original = posts.moveCategoryPosts.bind(posts);
        const spy = jest.spyOn(posts, 'moveCategoryPosts').mockImplementationOnce(async (from, to, progress) => {
          await original(from, to, progress);
          late = await publishedIn(a.id, 'Published meanwhile');
        });
        try {
          const res = await t.api
            .delete(`/api/v1/categories/${a.id}?moveTo=${m.id}`)
            .set('authorization', admin.bearer)
            .expect(412);
          expect(res.body).toMatchObject({ code: 'version_mismatch', movedPostsTo: m.id });
          expect(res.body.detail).toContain(`2 of its published posts had moved to category ${m.id}`);
        } finally {
          spy.mockRestore();
        }
        for (const post of first)
          expect((await t.api.get(`/api/v1/posts/${post.id}`).expect(200)).body.categoryId).toBe(m.id);
        expect((await t.api.get(`/api/v1/categories/by-slug/${a.slug}`).expect(200)).body.postCount).toBe(1);
        // the retry moves what is left and deletes
        await t.api.delete(`/api/v1/categories/${a.id}?moveTo=${m.id}`).set('authorization', admin.bearer).expect(204);
        expect((await t.api.get(`/api/v1/posts/${late!.id}`).expect(200)).body.categoryId).toBe(m.id);
        expect((await t.api.get(`/api/v1/categories/by-slug/${m.slug}`).expect(200)).body.postCount).toBe(3);
      });

      it('a database failure after its posts moved: 503 with Retry-After and movedPostsTo, the moved post stays', async () => {
        const a = (await createCategory({ name: 'Outage Deleted' }).expect(201)).body;
        const m = (await createCategory({ name: 'Outage Shelter' }).expect(201)).body;
        const post = await publishedIn(a.id, 'Moved before the outage');
        // the seam: the deletion's last step meets the database timing out (a DatabaseError, as dynamo/ raises it)
        const spy = jest.spyOn(t.app.get(TaxonomyService), 'deleteCategory').mockRejectedValueOnce(databaseTimeout());
        try {
          const res = await t.api
            .delete(`/api/v1/categories/${a.id}?moveTo=${m.id}`)
            .set('authorization', admin.bearer)
            .expect(503);
          expect(res.headers['content-type']).toMatch(/problem\+json/);
          expect(res.headers['retry-after']).toBe('1');
          expect(res.body).toMatchObject({ code: 'database_timeout', movedPostsTo: m.id });
          expect(res.body.detail).toContain(`1 of its published posts had moved to category ${m.id}`);
        } finally {
          spy.mockRestore();
        }
        expect((await t.api.get(`/api/v1/posts/${post.id}`).expect(200)).body.categoryId).toBe(m.id);
        await t.api.delete(`/api/v1/categories/${a.id}?moveTo=${m.id}`).set('authorization', admin.bearer).expect(204);
      });

      it('a deletion refused by its checks moves no post (the checks run before the moves)', async () => {
        const a = (await createCategory({ name: 'Refused Deleted' }).expect(201)).body;
        const c = (await createCategory({ name: 'Refused Deleted Child', parentId: a.id }).expect(201)).body;
        const post = await publishedIn(a.id, 'Stays put');
        const del = (query: string) =>
          t.api.delete(`/api/v1/categories/${a.id}${query}`).set('authorization', admin.bearer);
        expect((await del('').expect(409)).body.code).toBe('category_not_empty');
        const cycle = await del(`?moveTo=${c.id}`).expect(409);
        expect(cycle.body.code).toBe('category_cycle');
        expect(cycle.body.movedPostsTo).toBeUndefined();
        expect((await del('?moveTo=AAAAAAAAAAAAAAAAAAAAA').expect(422)).body.code).toBe('unknown_parent');
        expect((await t.api.get(`/api/v1/posts/${post.id}`).expect(200)).body.categoryId).toBe(a.id);
        expect((await t.api.get(`/api/v1/categories/by-slug/${a.slug}`).expect(200)).body.postCount).toBe(1);
      });

      it('a category created under a category while it is deleted moves with the other children (no dangling parent)', async () => {
        const a = (await createCategory({ name: 'Race Doomed' }).expect(201)).body;
        const m = (await createCategory({ name: 'Race Shelter' }).expect(201)).body;
        await publishedIn(a.id, 'In the doomed category');
        const posts = t.app.get(PostsService);
        const original = posts.moveCategoryPosts.bind(posts);
        let late: { id: string; slug: string } | undefined;
        const spy = jest.spyOn(posts, 'moveCategoryPosts').mockImplementationOnce(async (from, to, progress) => {
          late = (await createCategory({ name: 'Race Late Child', parentId: a.id }).expect(201)).body;
          return original(from, to, progress);
        });
        try {
          await t.api
            .delete(`/api/v1/categories/${a.id}?moveTo=${m.id}`)
            .set('authorization', admin.bearer)
            .expect(204);
        } finally {
          spy.mockRestore();
        }
        const detail = await t.api.get(`/api/v1/categories/by-slug/${late!.slug}`).expect(200);
        expect(detail.body.parentId).toBe(m.id);
        expect((await listed()).get(late!.id)).toBe(m.id);
      });

      it('a creation under a category racing its deletion: never a category whose parent is gone', async () => {
        for (let i = 0; i < 6; i++) {
          const a = (await createCategory({ name: `Race Gone ${i}` }).expect(201)).body;
          const [created, deleted] = await Promise.all([
            createCategory({ name: `Race Gone Child ${i}`, parentId: a.id }),
            t.api.delete(`/api/v1/categories/${a.id}`).set('authorization', admin.bearer),
          ]);
          if (created.status === 201) {
            // the deletion read no child and lost the race, or read the child (409 category_not_empty)
            expect([`412 version_mismatch`, `409 category_not_empty`]).toContain(
              `${deleted.status} ${deleted.body.code}`,
            );
          } else {
            expect(deleted.status).toBe(204);
            expect([`412 version_mismatch`, `422 unknown_parent`]).toContain(`${created.status} ${created.body.code}`);
          }
          const items = await t.allItems();
          const ids = new Set(items.filter((item) => item.entity === 'Category').map((item) => item.id));
          for (const item of items)
            if (item.entity === 'Category' && item.parentId) expect(ids).toContain(item.parentId);
        }
      });
    });

    it('refuses to delete a category with children unless moveTo names their new parent', async () => {
      const parent = (await createCategory({ name: 'Doomed' }).expect(201)).body;
      const child = (await createCategory({ name: 'Orphan', parentId: parent.id }).expect(201)).body;
      const target = (await createCategory({ name: 'Shelter' }).expect(201)).body;
      const del = (query = '') =>
        t.api.delete(`/api/v1/categories/${parent.id}${query}`).set('authorization', admin.bearer);
      expect((await del().expect(409)).body.code).toBe('category_not_empty');
      expect((await del(`?moveTo=${child.id}`).expect(409)).body.code).toBe('category_cycle');
      expect((await del('?moveTo=AAAAAAAAAAAAAAAAAAAAA').expect(422)).body.code).toBe('unknown_parent');
      await del(`?moveTo=${target.id}`).expect(204);
      const shelter = await t.api.get(`/api/v1/categories/by-slug/${target.slug}`).expect(200);
      expect(shelter.body.children.map((c: { id: string }) => c.id)).toEqual([child.id]);
      expect((await t.api.get(`/api/v1/categories/by-slug/${parent.slug}`).expect(404)).body.code).toBe(
        'category_not_found',
      );
      // the slug is free again
      expect((await createCategory({ name: 'Doomed' }).expect(201)).body.slug).toBe(parent.slug);
    });

    it('makes slugs from names (Unicode-aware), suffixes generated ones, and refuses taken explicit ones', async () => {
      const cafe = await createCategory({ name: 'Café déjà vu' }).expect(201);
      expect(cafe.body.slug).toBe('cafe-deja-vu');
      expect((await createCategory({ name: 'Cafe deja vu!' }).expect(201)).body.slug).toBe('cafe-deja-vu-2');
      expect((await createCategory({ name: 'CAFÉ DÉJÀ VU' }).expect(201)).body.slug).toBe('cafe-deja-vu-3');
      const taken = await createCategory({ name: 'Anything', slug: 'cafe-deja-vu' }).expect(409);
      expect(taken.body.code).toBe('slug_taken');
    });

    it.each([
      ['a bad colour', { name: 'X', color: 'red' }, 400, 'validation_failed'],
      ['an overlong name', { name: 'x'.repeat(81) }, 400, 'validation_failed'],
      ['an unknown field', { name: 'X', postCount: 5 }, 400, 'validation_failed'],
      ['a bad slug', { name: 'X', slug: 'Not A Slug' }, 400, 'validation_failed'],
      ['a malformed parentId', { name: 'X', parentId: 'nope' }, 400, 'validation_failed'],
      ['a parentId that does not exist', { name: 'X', parentId: 'AAAAAAAAAAAAAAAAAAAAA' }, 422, 'unknown_parent'],
    ])('refuses %s', async (_name, body, status, code) => {
      const before = (await t.allItems()).length;
      const res = await createCategory(body).expect(status);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
      expect(res.body.code).toBe(code);
      expect((await t.allItems()).length).toBe(before);
    });
  });

  describe('tags', () => {
    it('lists by name and by post count with cursors, and finds by slug', async () => {
      const names = ['Kotlin', 'go', 'Elixir', 'Ada'];
      const created = [];
      for (const name of names) created.push((await createTag({ name }).expect(201)).body);
      const first = await t.api.get('/api/v1/tags?limit=2').expect(200);
      const second = await t.api.get(`/api/v1/tags?limit=2&cursor=${first.body.nextCursor}`).expect(200);
      const listed = [...first.body.items, ...second.body.items].map((tag: { name: string }) => tag.name);
      expect(listed).toEqual(['Ada', 'Elixir', 'go', 'Kotlin']);
      expect(dynamoCost(first).calls).toBe(1);

      const popular = await t.api.get('/api/v1/tags?sort=popular&limit=100').expect(200);
      expect(popular.body.items).toHaveLength(4 + 0);
      const bySlug = await t.api.get('/api/v1/tags/by-slug/elixir').expect(200);
      expect(bySlug.body).toMatchObject({ name: 'Elixir', postCount: 0 });
      expect((await t.api.get('/api/v1/tags/by-slug/nope').expect(404)).body.code).toBe('tag_not_found');
      expect((await t.api.get(`/api/v1/tags?sort=popular&cursor=${first.body.nextCursor}`).expect(400)).body.code).toBe(
        'invalid_cursor',
      );
    });

    it('renames and changes the slug, swapping the uniqueness items', async () => {
      const tag = (await createTag({ name: 'Javascript' }).expect(201)).body;
      await t.api.get('/api/v1/posts?tag=javascript').expect(200); // this instance now remembers the owner
      const res = await t.api
        .patch(`/api/v1/tags/${tag.id}`)
        .set('authorization', moderator.bearer)
        .set('if-match', '"1"')
        .send({ name: 'JavaScript', slug: 'js' })
        .expect(200);
      expect(res.body).toMatchObject({ name: 'JavaScript', slug: 'js', version: 2 });
      await t.api.get('/api/v1/tags/by-slug/js').expect(200);
      expect((await t.api.get('/api/v1/tags/by-slug/javascript').expect(404)).body.code).toBe('tag_not_found');
      expect((await createTag({ name: 'Other', slug: 'js' }).expect(409)).body.code).toBe('slug_taken');
      const successor = (await createTag({ name: 'javascript' }).expect(201)).body;
      expect(successor.slug).toBe('javascript');
      // The rename's commit made this instance forget the slug: its feed is the new tag's at once.
      const post = (
        await t.api
          .post('/api/v1/posts')
          .set('authorization', user.bearer)
          .send({ title: 'Tagged after the rename', content: 'body', tagIds: [successor.id] })
          .expect(201)
      ).body;
      await t.api.post(`/api/v1/posts/${post.id}/publish`).set('authorization', user.bearer).send({}).expect(200);
      const feed = await t.api.get('/api/v1/posts?tag=javascript').expect(200);
      expect(feed.body.items.map((item: { id: string }) => item.id)).toEqual([post.id]);
    });

    it('gives 50 concurrent creations of one name 50 distinct slugs', async () => {
      const results = await Promise.all(Array.from({ length: 50 }, () => createTag({ name: 'Concurrency' })));
      const statuses = results.map((r) => r.status);
      expect(statuses.every((s) => s === 201)).toBe(true);
      const slugs = results.map((r) => r.body.slug as string);
      expect(new Set(slugs).size).toBe(50);
      expect(slugs).toContain('concurrency');
      const owners = (await t.allItems()).filter((i) => String(i.PK).startsWith('UNIQUE#TAG_SLUG#concurrency'));
      expect(owners).toHaveLength(50);
    });
  });

  describe('authorization', () => {
    it('lets users write nothing, moderators write tags only, admins write both', async () => {
      expect((await createCategory({ name: 'By user' }, user).expect(403)).body.code).toBe('insufficient_role');
      expect((await createCategory({ name: 'By moderator' }, moderator).expect(403)).body.code).toBe(
        'insufficient_role',
      );
      expect((await createTag({ name: 'By user' }, user).expect(403)).body.code).toBe('insufficient_role');
      await createTag({ name: 'By moderator' }, moderator).expect(201);
      await createTag({ name: 'By admin' }, admin).expect(201);
      await createCategory({ name: 'By admin' }, admin).expect(201);
      expect((await t.api.post('/api/v1/tags').send({ name: 'Anonymous' }).expect(401)).body.code).toBe(
        'missing_token',
      );
    });
  });
});
