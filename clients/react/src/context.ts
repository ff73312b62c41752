import type { PublishingClient } from '@publishing-api/client';
import { createContext, createElement, type ReactNode, useContext } from 'react';

const ApiClientContext = createContext<PublishingClient | undefined>(undefined);

export interface ApiClientProviderProps {
  /** The client every hook below uses (`createPublishingClient(...)`): one per signed-in session. */
  client: PublishingClient;
  children?: ReactNode;
}

/** Gives the hooks their client. Put it inside TanStack Query's `QueryClientProvider`. */
export function ApiClientProvider({ client, children }: ApiClientProviderProps) {
  return createElement(ApiClientContext.Provider, { value: client }, children);
}

/** The client of the nearest `ApiClientProvider`; throws when there is none (a wiring mistake). */
export function useApiClient(): PublishingClient {
  const client = useContext(ApiClientContext);
  if (!client) throw new Error('useApiClient: no client; wrap the tree in <ApiClientProvider client={...}>');
  return client;
}
