import type { DestinationStream } from 'pino';
import type { AppConfig } from '../config/app-config.js';
import { DynamoUsage, runWithUsage } from '../dynamo/request-accounting.js';
import { AppLogger, bindRequestLogs } from './app-logger.js';
import { actorOn, type AuditEntry, auditFields, LoggerAuditLog, OPERATOR } from './audit.js';
import { createRootLogger } from './logger.js';

describe('audit lines (src/logging/audit.ts)', () => {
  it('copies only the known fields, audit: true first, none unset: a stray secret does not ride along', () => {
    const entry = {
      action: 'auth.password_reset',
      actor: 'u1',
      actorKind: 'link',
      subject: 'u1',
      sessionId: undefined,
      // What a careless spread would bring: none of it is an audit field.
      password: 'hunter2',
      token: 'tok',
      passwordHash: '$2b$',
      email: 'a@example.com',
    } as AuditEntry;
    const fields = auditFields(entry);
    expect(fields).toEqual({
      audit: true,
      action: 'auth.password_reset',
      actor: 'u1',
      actorKind: 'link',
      subject: 'u1',
    });
    expect(Object.keys(fields)[0]).toBe('audit');
    expect(
      auditFields({ action: 'user.email_change_reverted', ...actorOn('u2', 'u2'), keptAdminRole: false }),
    ).toMatchObject({ keptAdminRole: false });
  });

  it('names the actor: the account itself, an admin on another, or the operator', () => {
    expect(actorOn('u1', 'u1')).toEqual({ actor: 'u1', actorKind: 'self', subject: 'u1' });
    expect(actorOn('boss', 'u1')).toEqual({ actor: 'boss', actorKind: 'admin', subject: 'u1' });
    expect(actorOn(undefined, 'u1')).toEqual({ actorKind: 'operator', subject: 'u1' });
    expect(OPERATOR).toEqual({ actorKind: 'operator' });
  });

  it("writes one info line through Nest's logger, context Audit, with the request's id inside a request", () => {
    const lines: Record<string, unknown>[] = [];
    const stream: DestinationStream = { write: (line: string) => void lines.push(JSON.parse(line)) };
    const root = createRootLogger({ logLevel: 'log', nodeEnv: 'test' } as AppConfig, { stream });
    const appLogger = new AppLogger(root);
    const audit = new LoggerAuditLog({ log: (message, ...rest) => appLogger.log(message, ...rest, 'Audit') });
    const usage = new DynamoUsage();
    bindRequestLogs(usage, root, 'req-42');
    runWithUsage(usage, () => audit.record({ action: 'user.deactivated', ...actorOn('u1', 'u1'), mode: 'owner' }));
    expect(lines).toEqual([
      expect.objectContaining({
        level: 30,
        requestId: 'req-42',
        context: 'Audit',
        audit: true,
        action: 'user.deactivated',
        actor: 'u1',
        actorKind: 'self',
        subject: 'u1',
        mode: 'owner',
        msg: 'audit user.deactivated',
      }),
    ]);
  });
});
