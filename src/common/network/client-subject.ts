import { isIPv4, isIPv6 } from 'node:net';

/** The subject of a request with no client address (a socket already closed). */
export const UNKNOWN_CLIENT = 'unknown';

/**
 * Who a client is, for every per-client limit and for the anonymous view count: the one place a
 * per-IP subject is built. An IPv4 address as it is; an IPv6 address by its /64
 * (`2001:db8:1:2::/64`), the network one subscriber or host is given and can rotate addresses
 * inside at will (keyed on the full address, one home had 2^64 budgets); an IPv4 address mapped
 * into IPv6 (`::ffff:192.0.2.1`, `::ffff:c000:201`, as a dual-stack socket or a proxy writes it)
 * is the IPv4 address. Any spelling of one /64 (leading zeros, `::`, case, a zone id) gives the
 * same subject. No address is `unknown`; a string that is not an address is returned as given.
 */
export function clientSubject(address: string | undefined): string {
  if (address === undefined || address === '') return UNKNOWN_CLIENT;
  if (isIPv4(address)) return address;
  const bare = address.split('%')[0].toLowerCase();
  if (!isIPv6(bare)) return address;
  const groups = hextets(bare);
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join('.');
  }
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, an IPv4 tail as two). */
function hextets(address: string): number[] {
  const [head, tail] = address.split('::') as [string, string | undefined];
  const groups = (part: string | undefined): number[] => (part ? part.split(':').flatMap(asHextets) : []);
  const front = groups(head);
  if (tail === undefined) return front;
  const back = groups(tail);
  return [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
}

/** A group of an IPv6 address; an embedded IPv4 tail (`::ffff:1.2.3.4`) is two. */
function asHextets(group: string): number[] {
  if (!isIPv4(group)) return [parseInt(group, 16)];
  const [a, b, c, d] = group.split('.').map(Number) as [number, number, number, number];
  return [(a << 8) | b, (c << 8) | d];
}
