import type { NativeAttributeValue } from '@aws-sdk/lib-dynamodb';

/**
 * The size DynamoDB bills an item at, by its documented rules (attribute names and values in
 * UTF-8 bytes, a number about one byte per two digits plus one, 3 bytes of overhead per list or
 * map and 1 per element): what decides how many 1 KB write units or 4 KB read units it costs.
 * An estimate on the safe side, for caps such as the post summary a feed link carries.
 */
export function itemSizeBytes(item: Record<string, NativeAttributeValue>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue;
    size += Buffer.byteLength(name) + valueSize(value);
  }
  return size;
}

function valueSize(value: NativeAttributeValue): number {
  if (value === null || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number' || typeof value === 'bigint') return Math.ceil(String(value).length / 2) + 1;
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, element) => sum + 1 + valueSize(element), 0);
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof Set) {
    let size = 0;
    for (const member of value) size += valueSize(member);
    return size;
  }
  if (typeof value === 'object') {
    const map = value as Record<string, NativeAttributeValue>;
    return 3 + itemSizeBytes(map) + Object.keys(map).length;
  }
  return 0;
}
