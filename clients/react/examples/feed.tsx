import type { PublishingClient } from '@publishing-api/client';
import { ApiClientProvider, useLikePost, usePostsFeed } from '@publishing-api/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { useState } from 'react';

export function Feed({ tag }: { tag?: string }) {
  const feed = usePostsFeed({ tag, limit: 10 }); // infinite scroll over the cursor pages
  const like = useLikePost(); // optimistic: the count moves at once, and back if refused
  return (
    <ul>
      {feed.data?.items.map((post) => (
        <li key={post.id}>
          {post.title} <button onClick={() => like.mutate(post.id)}>♥ {post.likeCount}</button>
        </li>
      ))}
      {feed.hasNextPage && <button onClick={() => void feed.fetchNextPage()}>More</button>}
    </ul>
  );
}

export function App({ client }: { client: PublishingClient }) {
  // One cache per mounted app, not per module: under server-side rendering a module-level one is shared by every user.
  const [queryClient] = useState(() => new QueryClient());
  return (
    <QueryClientProvider client={queryClient}>
      <ApiClientProvider client={client}>
        <Feed />
      </ApiClientProvider>
    </QueryClientProvider>
  );
}
