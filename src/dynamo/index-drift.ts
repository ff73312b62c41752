import type { CreateTableCommandInput, TableDescription } from '@aws-sdk/client-dynamodb';

type WantedIndex = NonNullable<CreateTableCommandInput['GlobalSecondaryIndexes']>[number];

const describeProjection = (projection: { ProjectionType?: string; NonKeyAttributes?: string[] } | undefined) =>
  projection?.ProjectionType === 'INCLUDE'
    ? `INCLUDE (${[...(projection.NonKeyAttributes ?? [])].sort().join(', ')})`
    : (projection?.ProjectionType ?? 'ALL');

/**
 * How the table's existing indexes differ from the definition: an index whose keys or projection
 * are not the ones this code expects. DynamoDB cannot change either in place (a changed
 * projection means a new index, backfilled, then switched to: a migration), so start-up refuses
 * such a table instead of silently reading an index that lacks what a listing shows.
 */
export function indexDrift(table: TableDescription, wanted: readonly WantedIndex[]): string[] {
  const problems: string[] = [];
  for (const index of wanted) {
    const existing = table.GlobalSecondaryIndexes?.find((candidate) => candidate.IndexName === index.IndexName);
    if (!existing) continue; // created by `ensureTable`, or by a migration
    const keys = (schema: typeof index.KeySchema) =>
      (schema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(',');
    if (keys(existing.KeySchema) !== keys(index.KeySchema))
      problems.push(`index ${index.IndexName} has keys ${keys(existing.KeySchema)}, not ${keys(index.KeySchema)}`);
    const have = describeProjection(existing.Projection);
    const want = describeProjection(index.Projection);
    if (have !== want) problems.push(`index ${index.IndexName} projects ${have}, not ${want}`);
  }
  return problems;
}
