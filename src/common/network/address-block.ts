import { isIPv4, isIPv6 } from 'node:net';

/** `::ffff:192.0.2.1`, an IPv4 client as a dual-stack socket reports it. */
const MAPPED_IPV4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/**
 * The block a client address stands for, as one viewer: an IPv4 address as it is, an IPv6 address
 * by its /64 (`2001:db8:1:2::/64`), the network one subscriber or host is given and can rotate
 * addresses inside at will. An IPv4 address mapped into IPv6 is the IPv4 address. Anything else
 * (no address, a string that is not one) is returned as given.
 */
export function addressBlock(address: string | undefined): string {
  if (address === undefined) return '';
  const mapped = MAPPED_IPV4.exec(address);
  if (mapped && isIPv4(mapped[1])) return mapped[1];
  if (!isIPv6(address)) return address;
  return `${firstHextets(address.split('%')[0].toLowerCase(), 4).join(':')}::/64`;
}

/** The first `count` 16-bit groups of an IPv6 address, without leading zeros (`::` expanded). */
function firstHextets(address: string, count: number): string[] {
  const [head, tail] = address.split('::') as [string, string | undefined];
  const groups = (part: string | undefined): string[] => (part ? part.split(':').flatMap(asHextets) : []);
  const front = groups(head);
  const back = groups(tail);
  const full =
    tail === undefined ? front : [...front, ...Array<string>(8 - front.length - back.length).fill('0'), ...back];
  return full.slice(0, count).map((group) => parseInt(group, 16).toString(16));
}

/** A group of an IPv6 address; an embedded IPv4 tail (`::ffff:1.2.3.4`) is two. */
function asHextets(group: string): string[] {
  if (!isIPv4(group)) return [group];
  const [a, b, c, d] = group.split('.').map(Number) as [number, number, number, number];
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
}
