import {
  DescribeTableCommand,
  type DynamoDBClient,
  UpdateContinuousBackupsCommand,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import { loadConfig } from '../config/app-config.js';
import { protectTable } from './table.setup.js';

function recordingClient(deletionProtectionEnabled: boolean) {
  const sent: unknown[] = [];
  const client = {
    send: (command: unknown) => {
      sent.push(command);
      return Promise.resolve(
        command instanceof DescribeTableCommand
          ? { Table: { DeletionProtectionEnabled: deletionProtectionEnabled } }
          : {},
      );
    },
  } as unknown as DynamoDBClient;
  return { client, sent };
}

describe('protectTable (db:create-table in production)', () => {
  it('switches on point-in-time recovery and deletion protection', async () => {
    const { client, sent } = recordingClient(false);
    expect(await protectTable(client, 't', { pointInTimeRecovery: true, deletionProtection: true })).toEqual([
      'point-in-time recovery',
      'deletion protection',
    ]);
    const pitr = sent.find((c) => c instanceof UpdateContinuousBackupsCommand) as UpdateContinuousBackupsCommand;
    expect(pitr.input.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    const update = sent.find((c) => c instanceof UpdateTableCommand) as UpdateTableCommand;
    expect(update.input).toEqual({ TableName: 't', DeletionProtectionEnabled: true });
  });

  it('does nothing when switched off, and leaves protection already on alone', async () => {
    const off = recordingClient(false);
    expect(await protectTable(off.client, 't', { pointInTimeRecovery: false, deletionProtection: false })).toEqual([]);
    expect(off.sent).toEqual([]);
    const on = recordingClient(true);
    await protectTable(on.client, 't', { pointInTimeRecovery: false, deletionProtection: true });
    expect(on.sent.some((c) => c instanceof UpdateTableCommand)).toBe(false);
  });

  it('is on by default in production only', () => {
    const production = loadConfig({
      NODE_ENV: 'production',
      JWT_SECRET: 'a-production-secret-that-is-long-enough-012345',
      PUBLIC_URL: 'https://example.com',
      MAIL_TRANSPORT: 'ses',
      MAIL_FROM: 'no-reply@example.com',
    });
    expect(production.tableProtection).toEqual({ pointInTimeRecovery: true, deletionProtection: true });
    expect(loadConfig({}).tableProtection).toEqual({ pointInTimeRecovery: false, deletionProtection: false });
  });
});
