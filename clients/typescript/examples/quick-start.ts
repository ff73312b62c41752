import { createPublishingClient, ProblemError } from '@publishing-api/client';

export async function quickStart(baseUrl: string): Promise<string[]> {
  const client = createPublishingClient({ baseUrl });
  await client.auth.register({ email: `ada-${Date.now()}@example.com`, password: 'correct horse battery' });
  const draft = await client.posts.create({ title: 'Hello', content: 'My first post.' });
  await client.posts.update(draft, { title: 'Hello, world' }); // If-Match from draft.version
  try {
    await client.posts.update(draft, { title: 'Stale' }); // draft is an old version now
  } catch (error) {
    if (!(error instanceof ProblemError) || error.code !== 'version_mismatch') throw error;
  }
  const titles: string[] = [];
  for await (const post of client.me.posts()) titles.push(post.title); // every page
  return titles; // ['Hello, world']
}
