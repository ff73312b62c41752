export const SESSION_CAP: number;
export const PRODUCTION_CACHING: { PUBLIC_CACHE_SECONDS: string; VIEW_READ_CACHE_SECONDS: string };
export function peerComparisonEnv(options: {
  endpoint: string;
  tableName: string;
  bcryptCost: number;
  admin: { email: string; password: string };
}): Record<string, string>;
