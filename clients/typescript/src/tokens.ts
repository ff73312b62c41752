/** The token pair of a signed-in client. */
export interface TokenPair {
  accessToken: string;
  refreshToken: string;
}

/**
 * Where the client keeps its tokens: memory by default; pass your own to persist them (secure
 * storage on mobile, for example). `set(undefined)` is sign-out.
 */
export interface TokenStorage {
  get(): TokenPair | undefined | Promise<TokenPair | undefined>;
  set(tokens: TokenPair | undefined): void | Promise<void>;
}

export function memoryTokenStorage(initial?: TokenPair): TokenStorage {
  let tokens = initial;
  return {
    get: () => tokens,
    set: (next) => {
      tokens = next;
    },
  };
}

/**
 * One refresh at a time, shared by every call that needs it: refresh tokens are single use, so
 * two concurrent refreshes with the same token would make the server revoke the session
 * (`refresh_token_reused`).
 */
export class SharedRefresh {
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly storage: TokenStorage,
    private readonly exchange: (refreshToken: string) => Promise<TokenPair>,
  ) {}

  /** Refreshes unless the pair already changed since `staleAccessToken` was sent. */
  async after(staleAccessToken: string): Promise<void> {
    const current = await this.storage.get();
    // Checked after the await, then set without another: concurrent callers join one refresh.
    if (this.inFlight) return this.inFlight;
    if (!current) throw new Error('Not signed in');
    if (current.accessToken !== staleAccessToken) return;
    this.inFlight = (async () => {
      try {
        await this.storage.set(await this.exchange(current.refreshToken));
      } catch (error) {
        await this.storage.set(undefined);
        throw error;
      } finally {
        this.inFlight = undefined;
      }
    })();
    return this.inFlight;
  }
}
