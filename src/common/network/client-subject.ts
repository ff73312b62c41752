import { isIPv4, isIPv6 } from 'node:net';

/** The subject of a request with no client address (a socket already closed). */
export const UNKNOWN_CLIENT = 'unknown';

/** The subject of every client address that is not an address once a port is taken off. */
export const MALFORMED_CLIENT = 'malformed';

/**
 * Who a client is, for every per-client limit and for the anonymous view count: the one place a
 * per-IP subject is built. An IPv4 address as it is; an IPv6 address by its /64
 * (`2001:db8:1:2::/64`), the network a host or a LAN is given and can rotate addresses inside at
 * will (keyed on the full address, one host had 2^64 budgets), or by a shorter prefix when asked
 * (`ipv6Prefix`: 48, the sign-in lockout's, as a site or a tunnel broker's customer gets a /48);
 * an IPv4 address mapped into IPv6 (`::ffff:192.0.2.1`, `::ffff:c000:201`, as a dual-stack socket
 * or a proxy writes it) is the IPv4 address. Any spelling of one prefix (leading zeros, `::`, case,
 * a zone id) gives the same subject, and so does the address with a port (`192.0.2.1:4711`,
 * `[2001:db8::1]:4711`, as some proxies write it in `X-Forwarded-For`: each source port was its
 * own budget, review 20b L1). No address is `unknown`; anything else, one shared `malformed`
 * subject (a proxy writing garbage must not give each request a budget of its own).
 */
export function clientSubject(address: string | undefined, { ipv6Prefix = 64 }: { ipv6Prefix?: 48 | 64 } = {}): string {
  if (address === undefined || address === '') return UNKNOWN_CLIENT;
  const host = withoutPort(address);
  if (isIPv4(host)) return host;
  const bare = host.split('%')[0].toLowerCase();
  if (!isIPv6(bare)) return MALFORMED_CLIENT;
  const groups = hextets(bare);
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join('.');
  }
  return `${groups
    .slice(0, ipv6Prefix / 16)
    .map((group) => group.toString(16))
    .join(':')}::/${ipv6Prefix}`;
}

/** The host of `host:port` (IPv4) or `[host]:port` / `[host]` (IPv6); anything else as given. */
function withoutPort(address: string): string {
  if (address.startsWith('[')) {
    const end = address.indexOf(']');
    const rest = address.slice(end + 1);
    return end > 0 && (rest === '' || /^:\d{1,5}$/.test(rest)) ? address.slice(1, end) : address;
  }
  const colon = address.indexOf(':');
  // One colon only: IPv6 has at least two.
  if (colon > 0 && colon === address.lastIndexOf(':') && /^\d{1,5}$/.test(address.slice(colon + 1)))
    return address.slice(0, colon);
  return address;
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
