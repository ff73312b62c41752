import { Global, Logger, type LoggerService, Module } from '@nestjs/common';

/** The injection token of the audit log (`@Inject(AUDIT_LOG) audit: AuditLog`). */
export const AUDIT_LOG = Symbol('AUDIT_LOG');

/**
 * What a security-relevant write did (docs/operations.md, "Audit lines"). Dotted, `<area>.<verb>`:
 * - `auth.sign_in`: a password sign-in that opened a session (native or Conduit); failures are
 *   not audit lines (their access lines say 401/403/429, and the lockout counts them);
 * - `auth.sign_out` (one session, the caller's), `auth.session_revoked` (one of the caller's
 *   sessions by id), `auth.sessions_revoked` (sign-out everywhere);
 * - `auth.password_changed` (with the current password), `auth.password_reset` (a reset link);
 * - `user.email_change_requested` (with the password: a confirmation link mailed to the new
 *   address), `user.email_changed` (that link used: the account moved), `user.email_verified` (a
 *   verification link), `user.email_change_reverted` (an undo link: `keptAdminRole` says whether
 *   the account it restored is an admin, review 22a H1's addendum);
 * - `user.deactivated`, `user.erased`, `user.role_changed`, `user.status_changed`;
 * - `admin.bootstrap` (`ADMIN_EMAIL`: `outcome` created or taken-over; `unchanged` writes nothing).
 */
export type AuditAction =
  | 'auth.sign_in'
  | 'auth.sign_out'
  | 'auth.session_revoked'
  | 'auth.sessions_revoked'
  | 'auth.password_changed'
  | 'auth.password_reset'
  | 'user.email_change_requested'
  | 'user.email_changed'
  | 'user.email_verified'
  | 'user.email_change_reverted'
  | 'user.deactivated'
  | 'user.erased'
  | 'user.role_changed'
  | 'user.status_changed'
  | 'admin.bootstrap';

/**
 * Who acted: the account itself (`self`, signed in), an admin on another account (`admin`, whose
 * id is `actor`), whoever held a mailed link (`link`: the account's id, the link's owner), or the
 * operator (`operator`: a command, the start-up's `ADMIN_EMAIL` bootstrap, the erasure sweep).
 */
export type AuditActorKind = 'self' | 'admin' | 'link' | 'operator';

/** The operator as the actor (a command, the start-up bootstrap, the erasure sweep). */
export const OPERATOR = { actorKind: 'operator' } as const satisfies { actorKind: AuditActorKind };

/**
 * The actor of a write on `subject` by the account `actorId`: itself (`self`), or an admin acting on
 * another (`admin`); the operator when there is no acting account (`actorId` undefined). Both
 * fields of the entry, with `subject`.
 */
export function actorOn(
  actorId: string | undefined,
  subject: string,
): Pick<AuditEntry, 'actor' | 'actorKind' | 'subject'> {
  if (actorId === undefined) return { ...OPERATOR, subject };
  return { actor: actorId, actorKind: actorId === subject ? 'self' : 'admin', subject };
}

/**
 * One audit line's facts. Ids, names of roles and statuses, and flags only: never a password, a
 * token, a link, a hash or an address (the type has no field that could carry one, and
 * `auditFields` copies only these fields).
 */
export interface AuditEntry {
  action: AuditAction;
  /** The acting account's id; absent for the operator. */
  actor?: string;
  actorKind: AuditActorKind;
  /** The account acted on. */
  subject: string;
  /** The session a sign-in opened or a revocation ended. */
  sessionId?: string;
  /**
   * The role or status set (`user.role_changed`, `user.status_changed`, `user.deactivated`:
   * `inactive`); `active` on a link's line when it also made the account active (review 23 L-2:
   * `auth.password_reset` of an owner-deactivated account, `user.email_change_reverted` of a pending
   * or owner-deactivated one, `user.email_changed` and `user.email_verified` of a pending one).
   */
  role?: string;
  status?: string;
  /** How: `owner`/`admin` deactivation, `hard`/`self` erasure, `created`/`taken-over` bootstrap. */
  mode?: string;
  outcome?: string;
  /** `user.email_change_reverted`: whether the restored account holds the admin role (review 22a H1). */
  keptAdminRole?: boolean;
}

const FIELDS = [
  'action',
  'actor',
  'actorKind',
  'subject',
  'sessionId',
  'role',
  'status',
  'mode',
  'outcome',
  'keptAdminRole',
] as const satisfies readonly (keyof AuditEntry)[];

/**
 * The fields of an audit line: `audit: true` first (what a log query filters on), then the entry's
 * known fields that are set, in a fixed order, and nothing else (a caller's stray property is not
 * copied, so a secret cannot ride along on an object spread into the entry).
 */
export function auditFields(entry: AuditEntry): Record<string, unknown> {
  const fields: Record<string, unknown> = { audit: true };
  for (const field of FIELDS) if (entry[field] !== undefined) fields[field] = entry[field];
  return fields;
}

/** Records security-relevant writes once they succeeded (the services call it after their write). */
export interface AuditLog {
  record(entry: AuditEntry): void;
}

/**
 * The audit log as log lines: one `info` line per entry, context `Audit`, message `audit <action>`,
 * through Nest's `Logger`, so that inside a request the line carries the request's `requestId`
 * (`AppLogger` binds it), also when the client hung up before the answer: the service writes it
 * after its work, whatever became of the connection (review 22a L8).
 */
export class LoggerAuditLog implements AuditLog {
  constructor(private readonly logger: Pick<LoggerService, 'log'> = new Logger('Audit')) {}

  record(entry: AuditEntry): void {
    this.logger.log(auditFields(entry), `audit ${entry.action}`);
  }
}

/** An audit log that keeps its entries (unit specs read them). */
export class MemoryAuditLog implements AuditLog {
  readonly entries: AuditEntry[] = [];

  record(entry: AuditEntry): void {
    this.entries.push(entry);
  }
}

/** Makes `AUDIT_LOG` injectable everywhere (AppModule imports it once). */
@Global()
@Module({ providers: [{ provide: AUDIT_LOG, useFactory: () => new LoggerAuditLog() }], exports: [AUDIT_LOG] })
export class AuditModule {}
