import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * IPv4 ranges no webhook in production should point at: this network, private (RFC 1918), shared
 * (CGNAT, 100.64/10: Alibaba's metadata service is 100.100.100.200), loopback, link-local (the
 * cloud metadata services at 169.254.169.254), IETF protocol assignments, benchmarking, multicast,
 * reserved and broadcast.
 */
const IPV4_INTERNAL: readonly [string, number][] = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];

/**
 * IPv6: unspecified, loopback and the deprecated IPv4-compatible form (::/96), NAT64's local-use
 * prefix, unique-local (fc00::/7, AWS's metadata service fd00:ec2::254), link-local, site-local,
 * multicast. An IPv4-mapped address (::ffff:a.b.c.d, any spelling) is checked as its IPv4 address
 * (BlockList does), and NAT64's well-known prefix (64:ff9b::/96) as the IPv4 address it embeds.
 */
const IPV6_INTERNAL: readonly [string, number][] = [
  ['::', 96],
  ['64:ff9b:1::', 48],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
];

const internal = new BlockList();
for (const [network, prefix] of IPV4_INTERNAL) {
  internal.addSubnet(network, prefix, 'ipv4');
  internal.addSubnet(`64:ff9b::${network}`, 96 + prefix, 'ipv6');
}
for (const [network, prefix] of IPV6_INTERNAL) internal.addSubnet(network, prefix, 'ipv6');

/**
 * Names that always mean this machine or a cloud metadata service, also as a single label resolved
 * through the resolver's search domains (`metadata` on GCE, `instance-data` on EC2: review 20b).
 */
const INTERNAL_NAMES = [
  'localhost',
  'metadata.google.internal',
  'metadata',
  'instance-data',
  'instance-data.ec2.internal',
];

/**
 * Whether a URL's host is a literal loopback, private, link-local or metadata address (or
 * `localhost`), after the WHATWG URL parser's normalisation (`0x7f000001`, `2130706433` and
 * `127.1` are all `127.0.0.1` to it, as to fetch). A DNS name is not resolved here: what it points
 * at is decided at each call (docs/streams.md, "What the URL checks do not cover").
 */
export function isInternalHost(url: URL): boolean {
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  if (INTERNAL_NAMES.includes(host) || host.endsWith('.localhost')) return true;
  if (isIPv4(host)) return internal.check(host, 'ipv4');
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  return isIPv6(bare) && internal.check(bare, 'ipv6');
}
