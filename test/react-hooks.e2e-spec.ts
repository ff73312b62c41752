/**
 * @jest-environment ./test/react/jsdom-with-node.environment.mjs
 */
import { readFileSync } from 'node:fs';
import { createPublishingClient, type Post, ProblemError, type PublishingClient } from '@publishing-api/client';
import {
  ApiClientProvider,
  queryKeys,
  useComments,
  useCreatePost,
  useCurrentUser,
  useLikePost,
  usePost,
  usePostsFeed,
  useSignIn,
  useSignOut,
  useUnlikePost,
  useUpdatePost,
} from '@publishing-api/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, configure, fireEvent, render, renderHook, screen, waitFor, within } from '@testing-library/react';
import { createElement, type ReactNode } from 'react';
import { App } from '../clients/react/examples/feed.js';
import { createTestApp, type TestApp } from './helpers/test-app.js';

// How long `waitFor`/`findBy*` may keep polling: a bound, not a wait (they return as soon as the
// condition holds, ~100 ms on an idle machine). RTL's 1 s default failed on a machine loaded many
// times over, where one request of the app under test took longer than that.
configure({ asyncUtilTimeout: 60_000 });

declare global {
  /** Node's own fetch (jsdom has none), from test/react/jsdom-with-node.environment.mjs. */
  var nodeFetch: typeof fetch;
}

/**
 * The React hooks (clients/react) in jsdom with React Testing Library, against the real app
 * listening on loopback in this worker, through the TypeScript client and real HTTP.
 */
describe('React hooks (e2e, jsdom)', () => {
  let t: TestApp;
  let baseUrl: string;

  beforeAll(async () => {
    // Comments are approved at once, so a thread has pages without a moderator.
    t = await createTestApp({ COMMENT_AUTO_APPROVE: 'all' });
    await t.app.listen(0, '127.0.0.1');
    baseUrl = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
  });
  afterAll(async () => {
    await t.close();
  });

  /** Likes whose answer the test holds back until it calls `release()`. */
  let held: { release: () => void; promise: Promise<void> } | undefined;
  const holdLikes = () => {
    let release = () => {};
    const promise = new Promise<void>((resolve) => (release = resolve));
    held = { release, promise };
    return held;
  };
  const likeRequests: string[] = [];

  /**
   * A client on Node's fetch, given explicitly (jsdom has no fetch); `beforeSend` may hold a
   * request back before it reaches the server.
   */
  const newClient = (beforeSend?: (request: Request) => Promise<void>) =>
    createPublishingClient({
      baseUrl,
      fetch: async (request) => {
        const isLike = new URL(request.url).pathname.endsWith('/like');
        await beforeSend?.(request);
        const response = await nodeFetch(request);
        if (isLike) {
          likeRequests.push(`${request.method} ${response.status}`);
          await held?.promise;
        }
        return response;
      },
    });
  let counter = 0;
  const newAccount = () => ({ email: `hooks-${++counter}-${Date.now()}@example.com`, password: 'hooks-password-1' });

  const signedInReader = async () => {
    const reader = newClient();
    await reader.auth.register(newAccount());
    return reader;
  };

  /** An author with `count` published posts, oldest first; the clock moves on between them. */
  async function authorWithPosts(count: number) {
    const author = newClient();
    const { user } = await author.auth.register(newAccount());
    const posts = [];
    for (let i = 0; i < count; i++) {
      const draft = await author.posts.create({ title: `Post ${counter}.${i}`, content: `Content ${i}` });
      posts.push(await author.posts.publish(draft.id));
      t.clock.advance(1000); // distinct publication times: the feed's order is certain
    }
    return { author, authorId: user.id, posts };
  }

  let queryClient: QueryClient;
  beforeEach(() => {
    // The state changes here come from real network answers, which no act() can wrap; React's
    // warning about updates outside act() does not apply (RTL's own calls still use act()).
    (globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = false;
    queryClient = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
    held = undefined;
    likeRequests.length = 0;
  });
  afterEach(() => {
    held?.release();
    queryClient.clear();
  });
  const providers =
    (client: PublishingClient) =>
    ({ children }: { children?: ReactNode }) =>
      createElement(
        QueryClientProvider,
        { client: queryClient },
        createElement(ApiClientProvider, { client }, children),
      );

  it('loads a feed page by page: two pages, every item once, newest first', async () => {
    const { authorId, posts } = await authorWithPosts(5);
    const newestFirst = posts.map((p) => p.id).reverse();

    const { result } = renderHook(() => usePostsFeed({ author: authorId, limit: 3 }), {
      wrapper: providers(newClient()),
    });
    await waitFor(() => expect(result.current.isSuccess).toBe(true));
    expect(result.current.data?.items.map((p) => p.id)).toEqual(newestFirst.slice(0, 3));
    expect(result.current.hasNextPage).toBe(true);

    await act(() => result.current.fetchNextPage());

    await waitFor(() => expect(result.current.data?.pages).toHaveLength(2));
    expect(result.current.data?.items.map((p) => p.id)).toEqual(newestFirst);
    expect(result.current.hasNextPage).toBe(false);
  });

  it('shows a like at once everywhere, and rolls it back when the server refuses it', async () => {
    const { author, authorId, posts } = await authorWithPosts(1);
    const [post] = posts;
    const reader = await signedInReader();
    const { result } = renderHook(
      () => ({
        post: usePost({ id: post.id }),
        bySlug: usePost({ slug: post.slug }),
        feed: usePostsFeed({ author: authorId }),
        like: useLikePost(),
      }),
      { wrapper: providers(reader) },
    );
    await waitFor(() => expect(result.current.feed.isSuccess && result.current.bySlug.isSuccess).toBe(true));
    await waitFor(() => expect(result.current.post.isSuccess).toBe(true));
    const shown = () => ({
      detail: [result.current.post.data?.likeCount, result.current.post.data?.likedByMe],
      bySlug: [result.current.bySlug.data?.likeCount, result.current.bySlug.data?.likedByMe],
      feed: result.current.feed.data?.items.find((p) => p.id === post.id)?.likeCount,
    });
    expect(shown()).toEqual({ detail: [0, false], bySlug: [0, false], feed: 0 });

    // Meanwhile the author takes the post back to draft: the reader's screen still shows it.
    await author.posts.unpublish(post.id);
    const gate = holdLikes();
    act(() => result.current.like.mutate(post.id));

    // Optimistic: every cached place shows the like while the server's answer is held back.
    await waitFor(() => expect(shown()).toEqual({ detail: [1, true], bySlug: [1, true], feed: 1 }));
    expect(result.current.like.isPending).toBe(true);

    gate.release();
    await waitFor(() => expect(result.current.like.isError).toBe(true));
    expect(likeRequests).toEqual(['PUT 404']);
    expect(shown()).toEqual({ detail: [0, false], bySlug: [0, false], feed: 0 });
    const error = result.current.like.error;
    expect(error).toBeInstanceOf(ProblemError);
    expect(error).toMatchObject({ status: 404, code: 'post_not_found' });
  });

  it('keeps a confirmed like through a refetch, and an unlike takes it back', async () => {
    const { authorId, posts } = await authorWithPosts(1);
    const [post] = posts;
    const reader = await signedInReader();
    const { result } = renderHook(
      () => ({
        post: usePost({ id: post.id }),
        feed: usePostsFeed({ author: authorId }),
        like: useLikePost(),
        unlike: useUnlikePost(),
      }),
      { wrapper: providers(reader) },
    );
    await waitFor(() => expect(result.current.post.isSuccess && result.current.feed.isSuccess).toBe(true));
    const shown = () => ({
      detail: [result.current.post.data?.likeCount, result.current.post.data?.likedByMe],
      feed: result.current.feed.data?.items.find((p) => p.id === post.id)?.likeCount,
    });

    act(() => result.current.like.mutate(post.id));
    await waitFor(() => expect(result.current.like.isSuccess).toBe(true));
    expect(shown()).toEqual({ detail: [1, true], feed: 1 });

    await t.mailSent(); // a post's likeCount counts a like once the stream folded it
    await act(async () => {
      await result.current.post.refetch();
      await result.current.feed.refetch();
    });
    expect(shown()).toEqual({ detail: [1, true], feed: 1 });
    expect((await reader.posts.get(post.id)).likeCount).toBe(1);

    act(() => result.current.unlike.mutate(post.id));
    await waitFor(() => expect(result.current.unlike.isSuccess).toBe(true));
    expect(shown()).toEqual({ detail: [0, false], feed: 0 });
    expect(likeRequests).toEqual(['PUT 200', 'DELETE 200']);
  });

  it('shows an unlike fired right after a like as it is, until both settle, and then the server state', async () => {
    const { posts } = await authorWithPosts(1);
    const [post] = posts;
    // The unlike reaches the server only once the like has settled: a read the like's settling
    // started would see the post liked.
    let sendUnlike = () => {};
    const unlikeMayGo = new Promise<void>((resolve) => (sendUnlike = resolve));
    const reader = newClient(async (request) => {
      if (request.method === 'DELETE' && request.url.endsWith('/like')) await unlikeMayGo;
    });
    await reader.auth.register(newAccount());
    const { result } = renderHook(
      () => ({ post: usePost({ id: post.id }), like: useLikePost(), unlike: useUnlikePost() }),
      { wrapper: providers(reader) },
    );
    await waitFor(() => expect(result.current.post.isSuccess).toBe(true));
    const cached = () => {
      const data = queryClient.getQueryData<Post>(queryKeys.post(post.id));
      return [data?.likeCount, data?.likedByMe];
    };
    const seen: unknown[] = [];
    const unsubscribe = queryClient.getQueryCache().subscribe(() => seen.push(cached()));
    try {
      act(() => {
        result.current.like.mutate(post.id);
        result.current.unlike.mutate(post.id);
      });
      await waitFor(() => expect(result.current.like.isSuccess).toBe(true));
      await waitFor(() => expect(queryClient.isFetching()).toBe(0));
      expect(cached()).toEqual([0, false]);
    } finally {
      sendUnlike();
    }
    await waitFor(() => expect(result.current.unlike.isSuccess).toBe(true));
    await waitFor(() => expect(queryClient.isFetching()).toBe(0));
    unsubscribe();
    const server = await reader.posts.get(post.id);
    expect([server.likeCount, server.likedByMe]).toEqual([0, false]);
    expect(cached()).toEqual([0, false]);
    // After the unlike was fired, the post never showed as liked again.
    const shown = seen.map((value) => JSON.stringify(value));
    const unlikeShown = shown.indexOf('[0,false]', shown.indexOf('[1,true]'));
    expect(unlikeShown).toBeGreaterThan(0);
    expect(shown.slice(unlikeShown).filter((value) => value !== '[0,false]')).toEqual([]);
    expect(likeRequests).toEqual(['PUT 200', 'DELETE 200']);
  });

  it('gives the current user after sign-in, and null after sign-out with the cache emptied', async () => {
    const account = newAccount();
    await newClient().auth.register(account);
    const client = newClient();
    const { result } = renderHook(() => ({ me: useCurrentUser(), signIn: useSignIn(), signOut: useSignOut() }), {
      wrapper: providers(client),
    });
    await waitFor(() => expect(result.current.me.isSuccess).toBe(true));
    expect(result.current.me.data).toBeNull();

    act(() => result.current.signIn.mutate(account));
    await waitFor(() => expect(result.current.me.data?.email).toBe(account.email));

    // Something personal cached while signed in (nothing on screen uses it).
    queryClient.setQueryData(queryKeys.post('some-post'), { likedByMe: true });
    act(() => result.current.signOut.mutate());
    await waitFor(() => expect(result.current.signOut.isSuccess).toBe(true));
    await waitFor(() => expect(result.current.me.data).toBeNull());
    expect(queryClient.getQueryData(queryKeys.post('some-post'))).toBeUndefined();
    expect(await client.storage.get()).toBeUndefined();
  });

  it('signs out of a session already revoked elsewhere: tokens and cache go, the 401 is the error', async () => {
    const account = newAccount();
    await newClient().auth.register(account);
    const client = newClient();
    const { result } = renderHook(() => ({ me: useCurrentUser(), signIn: useSignIn(), signOut: useSignOut() }), {
      wrapper: providers(client),
    });
    act(() => result.current.signIn.mutate(account));
    await waitFor(() => expect(result.current.me.data?.email).toBe(account.email));
    // Another device signs this session out (the same token pair).
    const elsewhere = newClient();
    await elsewhere.storage.set(await client.storage.get());
    await elsewhere.auth.logout();
    queryClient.setQueryData(queryKeys.post('some-post'), { likedByMe: true });

    act(() => result.current.signOut.mutate());
    await waitFor(() => expect(result.current.signOut.isError).toBe(true));
    expect(result.current.signOut.error).toMatchObject({ status: 401, code: 'session_revoked' });
    expect(await client.storage.get()).toBeUndefined();
    expect(queryClient.getQueryData(queryKeys.post('some-post'))).toBeUndefined();
    await waitFor(() => expect(result.current.me.data).toBeNull());
  });

  it('creates a post, updates it with If-Match from the entity, and refuses a stale update', async () => {
    const client = newClient();
    await client.auth.register(newAccount());
    const { result } = renderHook(() => ({ create: useCreatePost(), update: useUpdatePost() }), {
      wrapper: providers(client),
    });

    act(() => result.current.create.mutate({ title: 'Made by a hook', content: 'v1' }));
    await waitFor(() => expect(result.current.create.isSuccess).toBe(true));
    const created = result.current.create.data!;
    expect(queryClient.getQueryData(queryKeys.post(created.id))).toMatchObject({ content: 'v1' });

    act(() => result.current.update.mutate({ post: created, changes: { content: 'v2' } }));
    await waitFor(() => expect(result.current.update.isSuccess).toBe(true));
    expect(queryClient.getQueryData(queryKeys.post(created.id))).toMatchObject({
      content: 'v2',
      version: created.version + 1,
    });

    act(() => result.current.update.mutate({ post: created, changes: { content: 'stale' } }));
    await waitFor(() => expect(result.current.update.isError).toBe(true));
    expect(result.current.update.error).toBeInstanceOf(ProblemError);
    expect(result.current.update.error).toMatchObject({ status: 412, code: 'version_mismatch' });
    expect((await client.posts.get(created.id)).content).toBe('v2');
  });

  it("pages through a post's comments", async () => {
    const { author, posts } = await authorWithPosts(1);
    const [post] = posts;
    const written = [];
    for (let i = 0; i < 3; i++) written.push((await author.comments.create(post.id, { content: `Comment ${i}` })).id);

    const { result } = renderHook(() => useComments(post.id, { limit: 2 }), { wrapper: providers(newClient()) });
    await waitFor(() => expect(result.current.isSuccess).toBe(true));
    expect(result.current.data?.items.map((c) => c.id)).toEqual(written.slice(0, 2));

    await act(() => result.current.fetchNextPage());

    await waitFor(() => expect(result.current.data?.pages).toHaveLength(2));
    expect(result.current.data?.items.map((c) => c.id)).toEqual(written);
    expect(result.current.hasNextPage).toBe(false);
  });

  it('renders the README example as written: the feed, and a like on click', async () => {
    const { posts } = await authorWithPosts(1);
    const reader = await signedInReader();

    render(createElement(App, { client: reader }));

    // The title is the list item's own text (the count is its button's).
    const item = await screen.findByText(posts[0].title);
    fireEvent.click(within(item).getByRole('button', { name: '♥ 0' }));
    await within(item).findByRole('button', { name: '♥ 1' });
    await waitFor(() => expect(likeRequests).toEqual(['PUT 200']));
    await t.mailSent(); // a post's likeCount counts a like once the stream folded it
    expect((await reader.posts.get(posts[0].id)).likeCount).toBe(1);

    const example = readFileSync('clients/react/examples/feed.tsx', 'utf8');
    const readme = readFileSync('clients/react/README.md', 'utf8');
    expect(readme).toContain(example.trim());
  });
});
