import type { NativeAttributeValue } from '@aws-sdk/lib-dynamodb';
import { GSI, TABLE_KEYS, TTL_ATTRIBUTE } from './table.definition.js';
import { systemClock } from '../common/clock/clock.js';

export interface UpdateSpec {
  /** Attributes to set (undefined values are skipped, so optional DTO fields can be passed as they are). */
  set?: Record<string, NativeAttributeValue>;
  /** Numeric attributes to add to atomically (negative to subtract). */
  add?: Record<string, number>;
  /** Attributes to remove. */
  remove?: string[];
  /** Key and index attributes may only be written when a repository says so explicitly. */
  allowIndexAttributes?: boolean;
  /** A ConditionExpression with its own placeholders (use names/values that do not start with `#u`/`:u`). */
  condition?: {
    expression: string;
    names?: Record<string, string>;
    values?: Record<string, NativeAttributeValue>;
  };
}

export interface BuiltUpdate {
  UpdateExpression: string;
  ConditionExpression?: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues?: Record<string, NativeAttributeValue>;
}

const PROTECTED = new Set<string>([
  TABLE_KEYS.partitionKey,
  TABLE_KEYS.sortKey,
  ...Object.values(GSI).flatMap((index) => [index.partitionKey, index.sortKey]),
]);

/**
 * Builds an UpdateExpression with placeholder names and values for every attribute, so that
 * reserved words and odd characters never break a request. Refuses to touch the primary key
 * and (unless allowed) index keys: a repository method names what it changes.
 */
export function buildUpdate(spec: UpdateSpec): BuiltUpdate {
  const names: Record<string, string> = {};
  const values: Record<string, NativeAttributeValue> = {};
  let counter = 0;
  const name = (attribute: string): string => {
    if (attribute === TABLE_KEYS.partitionKey || attribute === TABLE_KEYS.sortKey) {
      throw new Error(`The primary key attribute ${attribute} cannot be updated`);
    }
    if (PROTECTED.has(attribute) && !spec.allowIndexAttributes) {
      throw new Error(`Index attribute ${attribute} may only be written with allowIndexAttributes`);
    }
    const placeholder = `#u${counter}`;
    names[placeholder] = attribute;
    return placeholder;
  };
  const value = (v: unknown): string => {
    const placeholder = `:u${counter++}`;
    values[placeholder] = v;
    return placeholder;
  };

  const sets = Object.entries(spec.set ?? {})
    .filter(([, v]) => v !== undefined)
    .map(([attribute, v]) => `${name(attribute)} = ${value(v)}`);
  const adds = Object.entries(spec.add ?? {}).map(([attribute, v]) => `${name(attribute)} ${value(v)}`);
  const removes = (spec.remove ?? []).map((attribute) => {
    const placeholder = name(attribute);
    counter++;
    return placeholder;
  });

  const clauses = [
    sets.length ? `SET ${sets.join(', ')}` : '',
    adds.length ? `ADD ${adds.join(', ')}` : '',
    removes.length ? `REMOVE ${removes.join(', ')}` : '',
  ].filter(Boolean);
  if (clauses.length === 0) throw new Error('An update must change at least one attribute');
  Object.assign(names, spec.condition?.names);
  Object.assign(values, spec.condition?.values);
  return {
    UpdateExpression: clauses.join(' '),
    ...(spec.condition ? { ConditionExpression: spec.condition.expression } : {}),
    ExpressionAttributeNames: names,
    ...(Object.keys(values).length ? { ExpressionAttributeValues: values } : {}),
  };
}

/**
 * The optimistic-concurrency update every versioned entity uses: the changes, `version + 1`,
 * and the condition that the item exists at `expectedVersion` (plus an optional extra condition).
 */
export function buildVersionedUpdate(
  spec: Omit<UpdateSpec, 'add' | 'condition'> & { add?: Record<string, number> },
  expectedVersion: number,
  extraCondition?: {
    expression: string;
    names?: Record<string, string>;
    values?: Record<string, NativeAttributeValue>;
  },
): BuiltUpdate {
  return buildUpdate({
    ...spec,
    add: { ...spec.add, version: 1 },
    condition: {
      expression: `attribute_exists(PK) AND version = :expected${extraCondition ? ` AND ${extraCondition.expression}` : ''}`,
      names: extraCondition?.names,
      values: { ':expected': expectedVersion, ...extraCondition?.values },
    },
  });
}

/**
 * A versioned update that brings an item from `before` to `after`: sets the fields `after` has,
 * removes those it lacks, writes `indexKeys` and removes the other `indexAttributes`. Fields in
 * `keep` (ids, counters kept by atomic ADDs) are never written, so a concurrent counter change
 * is not lost.
 */
export function buildStateUpdate(
  before: object,
  after: object,
  options: { keep: readonly string[]; indexKeys: Record<string, string>; indexAttributes: readonly string[] },
  expectedVersion: number,
): BuiltUpdate {
  const keep = new Set([...options.keep, 'version']);
  const set: Record<string, unknown> = { ...options.indexKeys };
  for (const [field, value] of Object.entries(after)) {
    if (!keep.has(field) && value !== undefined) set[field] = value;
  }
  const remove = new Set<string>();
  for (const [field, value] of [...Object.entries(before), ...Object.entries(after)]) {
    if (!keep.has(field) && !(field in set) && (value === undefined || !(field in after))) remove.add(field);
  }
  for (const attribute of options.indexAttributes) if (!(attribute in set)) remove.add(attribute);
  return buildVersionedUpdate({ set, remove: [...remove], allowIndexAttributes: true }, expectedVersion);
}

/** Seconds since the epoch, the unit of the `ttl` attribute. */
export const epochSeconds = (date: Date): number => Math.floor(date.getTime() / 1000);

/** True when an item carrying a `ttl` has expired but DynamoDB has not deleted it yet. */
export const isExpired = (item: Record<string, unknown>, now: Date = systemClock.now()): boolean =>
  typeof item[TTL_ATTRIBUTE] === 'number' && item[TTL_ATTRIBUTE] <= epochSeconds(now);

/** A read's `ProjectionExpression` and the names its placeholders stand for. */
export interface Projection {
  ProjectionExpression: string;
  ExpressionAttributeNames: Record<string, string>;
}

/** A projection of these attributes, each through a placeholder (`#status`: some names are DynamoDB reserved words). */
export function projectionOf(attributes: readonly string[]): Projection {
  return {
    ProjectionExpression: attributes.map((name) => `#${name}`).join(', '),
    ExpressionAttributeNames: Object.fromEntries(attributes.map((name) => [`#${name}`, name])),
  };
}
