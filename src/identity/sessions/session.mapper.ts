import type { SessionDto } from './session.dto.js';
import type { Session } from './session.entity.js';

/**
 * The fields of a session its owner may see (the session list and the personal-data export):
 * never the refresh-token hashes or the rotation counter.
 */
export function toSessionDto(session: Session, currentSessionId: string): SessionDto {
  return {
    id: session.id,
    userAgent: session.userAgent,
    ip: session.ip,
    createdAt: session.createdAt,
    lastUsedAt: session.lastUsedAt,
    expiresAt: session.expiresAt,
    current: session.id === currentSessionId,
  };
}
