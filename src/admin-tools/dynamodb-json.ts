import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * DynamoDB JSON, the format of `db:export`/`db:import` lines: one object per line,
 * `{"Item":{"PK":{"S":"USER#..."},"likeCount":{"N":"2"},...}}`, the same shape as an S3 export of
 * `ExportTableToPointInTime` (DYNAMODB_JSON), so each tool can read the other's files. Types survive:
 * numbers stay decimal strings (no float rounding), sets stay sets, binary is base64.
 *
 * Lines are canonical: attribute names are sorted at every level and set members are sorted, so two
 * exports of equal tables, sorted by line, are equal byte for byte.
 */
export type JsonAttributeValue =
  | { S: string }
  | { N: string }
  | { B: string }
  | { SS: string[] }
  | { NS: string[] }
  | { BS: string[] }
  | { M: JsonItem }
  | { L: JsonAttributeValue[] }
  | { NULL: true }
  | { BOOL: boolean };
export type JsonItem = { [name: string]: JsonAttributeValue };
export type Item = Record<string, AttributeValue>;

export class ItemFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ItemFormatError';
  }
}

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function valueToJson(value: AttributeValue): JsonAttributeValue {
  if (value.S !== undefined) return { S: value.S };
  if (value.N !== undefined) return { N: value.N };
  if (value.B !== undefined) return { B: base64(value.B) };
  if (value.SS !== undefined) return { SS: [...value.SS].sort(byName) };
  if (value.NS !== undefined) return { NS: [...value.NS].sort(byName) };
  if (value.BS !== undefined) return { BS: value.BS.map(base64).sort(byName) };
  if (value.M !== undefined) return { M: itemToJson(value.M) };
  if (value.L !== undefined) return { L: value.L.map(valueToJson) };
  if (value.NULL !== undefined) return { NULL: true };
  if (value.BOOL !== undefined) return { BOOL: value.BOOL };
  throw new ItemFormatError(`unsupported attribute value ${JSON.stringify(value)}`);
}

/** The canonical JSON form of an item read with the low-level client. */
export function itemToJson(item: Item): JsonItem {
  // No prototype: an attribute named `__proto__` is an own property (and written), not the prototype.
  const json = Object.create(null) as JsonItem;
  for (const name of Object.keys(item).sort(byName)) json[name] = valueToJson(item[name]);
  return json;
}

/** One export line (without the newline). */
export function exportLine(item: Item): string {
  return JSON.stringify({ Item: itemToJson(item) });
}

// DynamoDB's number syntax: no NaN/Infinity, no leading '+'; precision and range are checked apart.
const NUMBER = /^-?(0|[1-9]\d*)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;
/** DynamoDB keeps at most 38 significant digits, and non-zero magnitudes from 1E-130 to below 1E+126. */
const MAX_DIGITS = 38;
const MIN_EXPONENT = -130;
const MAX_EXPONENT = 125;

/**
 * Attribute names refused on import: `__proto__` would set a plain object's prototype instead of
 * an attribute (and vanish), and the API refuses all three as body keys (`forbidden_key`).
 */
const FORBIDDEN_NAMES = new Set(['__proto__', 'constructor', 'prototype']);
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function number(value: unknown, path: string): string {
  const match = typeof value === 'string' ? NUMBER.exec(value) : null;
  if (!match) throw new ItemFormatError(`${path} is not a DynamoDB number`);
  const [, whole, fraction = '', exponent = '0'] = match;
  const digits = whole + fraction;
  const first = digits.search(/[1-9]/);
  if (first === -1) return value as string; // zero
  const significant = digits.slice(first).replace(/0+$/, '');
  if (significant.length > MAX_DIGITS)
    throw new ItemFormatError(`${path} has more than ${MAX_DIGITS} significant digits (DynamoDB refuses it)`);
  // The power of ten of the first significant digit: d.ddd x 10^magnitude.
  const magnitude = whole.length - 1 - first + Number(exponent);
  if (magnitude < MIN_EXPONENT || magnitude > MAX_EXPONENT)
    throw new ItemFormatError(`${path} is outside DynamoDB's range (1E-130 to below 1E+126 in magnitude)`);
  return value as string;
}

function binary(value: unknown, path: string): Uint8Array {
  if (typeof value !== 'string' || value.length % 4 !== 0 || !BASE64.test(value))
    throw new ItemFormatError(`${path} is not base64`);
  return new Uint8Array(Buffer.from(value, 'base64'));
}

function set<T>(value: unknown, path: string, member: (v: unknown, p: string) => T): T[] {
  if (!Array.isArray(value) || value.length === 0) throw new ItemFormatError(`${path} must be a non-empty array`);
  const members = value.map((v, i) => member(v, `${path}[${i}]`));
  if (new Set(value).size !== value.length) throw new ItemFormatError(`${path} has duplicate members`);
  return members;
}

function string(value: unknown, path: string): string {
  if (typeof value !== 'string') throw new ItemFormatError(`${path} must be a string`);
  return value;
}

function valueFromJson(json: unknown, path: string): AttributeValue {
  if (!isObject(json)) throw new ItemFormatError(`${path} must be an attribute value object`);
  const types = Object.keys(json);
  if (types.length !== 1)
    throw new ItemFormatError(`${path} must have exactly one type (got ${types.join(', ') || 'none'})`);
  const [type] = types;
  const v = json[type];
  switch (type) {
    case 'S':
      return { S: string(v, `${path}.S`) };
    case 'N':
      return { N: number(v, `${path}.N`) };
    case 'B':
      return { B: binary(v, `${path}.B`) };
    case 'SS':
      return { SS: set(v, `${path}.SS`, string) };
    case 'NS':
      return { NS: set(v, `${path}.NS`, number) };
    case 'BS':
      return { BS: set(v, `${path}.BS`, binary) };
    case 'M':
      return { M: itemFromJson(v, `${path}.M`) };
    case 'L':
      if (!Array.isArray(v)) throw new ItemFormatError(`${path}.L must be an array`);
      return { L: v.map((member, i) => valueFromJson(member, `${path}.L[${i}]`)) };
    case 'NULL':
      if (v !== true) throw new ItemFormatError(`${path}.NULL must be true`);
      return { NULL: true };
    case 'BOOL':
      if (typeof v !== 'boolean') throw new ItemFormatError(`${path}.BOOL must be a boolean`);
      return { BOOL: v };
    default:
      throw new ItemFormatError(`${path} has an unknown type ${type}`);
  }
}

/** Parses and checks an item in DynamoDB JSON; throws ItemFormatError naming the bad attribute. */
export function itemFromJson(json: unknown, path = 'Item'): Item {
  if (!isObject(json)) throw new ItemFormatError(`${path} must be an object`);
  const item: Item = {};
  for (const [name, value] of Object.entries(json)) {
    if (FORBIDDEN_NAMES.has(name)) throw new ItemFormatError(`${path} has an attribute named ${name}, refused`);
    item[name] = valueFromJson(value, `${path}.${name}`);
  }
  return item;
}

/** Parses one export line; throws ItemFormatError (malformed JSON or attribute values). */
export function parseExportLine(line: string): Item {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new ItemFormatError('malformed JSON');
  }
  if (!isObject(parsed) || !('Item' in parsed)) throw new ItemFormatError('expected an object {"Item": {...}}');
  return itemFromJson(parsed.Item);
}

/**
 * The item's size as DynamoDB bills it, approximately: names plus values, in bytes (a list or map
 * 3 bytes of overhead and 1 per element, as `src/dynamo/item-size.ts`).
 */
export function itemSize(item: Item): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += Buffer.byteLength(name) + valueSize(value);
  return size;
}

function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return Math.ceil(value.N.replace(/^-|\.|e.*$/gi, '').length / 2) + 1;
  if (value.B !== undefined) return value.B.byteLength;
  if (value.SS !== undefined) return value.SS.reduce((n, s) => n + Buffer.byteLength(s), 0);
  if (value.NS !== undefined) return value.NS.reduce((n, s) => n + s.length, 0);
  if (value.BS !== undefined) return value.BS.reduce((n, b) => n + b.byteLength, 0);
  if (value.M !== undefined) return 3 + itemSize(value.M) + Object.keys(value.M).length;
  if (value.L !== undefined) return 3 + value.L.reduce((n, v) => n + 1 + valueSize(v), 0);
  return 1;
}
