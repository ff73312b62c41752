import { clientSubject } from './client-subject.js';

describe('clientSubject', () => {
  it('keeps an IPv4 address', () => {
    expect(clientSubject('192.0.2.1')).toBe('192.0.2.1');
    expect(clientSubject('10.0.0.255')).toBe('10.0.0.255');
  });

  it('takes an IPv4 address mapped into IPv6 as that address, however it is written', () => {
    for (const address of [
      '::ffff:192.0.2.1',
      '::FFFF:192.0.2.1',
      '::ffff:c000:201',
      '::ffff:C000:0201',
      '0:0:0:0:0:ffff:192.0.2.1',
      '0000:0000:0000:0000:0000:ffff:c000:0201',
      '::ffff:192.0.2.1%eth0',
    ]) {
      expect({ address, subject: clientSubject(address) }).toEqual({ address, subject: '192.0.2.1' });
    }
    expect(clientSubject('::ffff:255.255.0.0')).toBe('255.255.0.0');
    // Not mapped: IPv4-compatible (::/96) and IPv4-translated (::ffff:0:0/96) are IPv6 addresses.
    expect(clientSubject('::192.0.2.1')).toBe('0:0:0:0::/64');
    expect(clientSubject('::ffff:0:192.0.2.1')).toBe('0:0:0:0::/64');
  });

  it('takes an IPv6 address by its /64, whatever its spelling and interface identifier', () => {
    const block = '2001:db8:1:2::/64';
    for (const address of [
      '2001:db8:1:2::1',
      '2001:db8:1:2:ffff:ffff:ffff:ffff',
      '2001:0DB8:0001:0002:0:0:0:9',
      '2001:DB8:1:2::A',
      '2001:db8:1:2:a::b',
      '2001:db8:1:2::',
      '2001:db8:1:2::5%eth0',
      '2001:db8:1:2::5%25',
      '2001:db8:1:2::1.2.3.4',
    ]) {
      expect({ address, subject: clientSubject(address) }).toEqual({ address, subject: block });
    }
    expect(clientSubject('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
    expect(clientSubject('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientSubject('2001:db8:0:0:1::1')).toBe('2001:db8:0:0::/64');
    expect(clientSubject('::1')).toBe('0:0:0:0::/64');
    expect(clientSubject('::')).toBe('0:0:0:0::/64');
    expect(clientSubject('fe80::1:2:3:4')).toBe('fe80:0:0:0::/64');
    expect(clientSubject('1:2:3::4:5:6:7')).toBe('1:2:3:0::/64');
    expect(clientSubject('1:2:3:4:5:6::')).toBe('1:2:3:4::/64');
  });

  it('tells /64s apart that share a prefix as text', () => {
    expect(clientSubject('2001:db8:1:2::1')).not.toBe(clientSubject('2001:db8:1:20::1'));
    expect(clientSubject('2001:db8:1::2:1')).not.toBe(clientSubject('2001:db8:1:2::1'));
  });

  it('gives unknown without an address, and one malformed subject for anything that is not one (review 20b L1)', () => {
    expect(clientSubject(undefined)).toBe('unknown');
    expect(clientSubject('')).toBe('unknown');
    for (const junk of ['not an address', '2001:db8::1::2', '1.2.3', '1.2.3.4:port', '[2001:db8::1]x', '1.2.3.4:5:6'])
      expect(clientSubject(junk)).toBe('malformed');
  });

  it('takes the address off a port, as some proxies write X-Forwarded-For (review 20b L1)', () => {
    expect(clientSubject('203.0.113.6:4711')).toBe('203.0.113.6');
    expect(clientSubject('203.0.113.6:80')).toBe(clientSubject('203.0.113.6:81'));
    expect(clientSubject('[2001:db8:1:2::1]:4711')).toBe('2001:db8:1:2::/64');
    expect(clientSubject('[2001:db8:1:2::1]')).toBe('2001:db8:1:2::/64');
    expect(clientSubject('[::ffff:192.0.2.1]:443')).toBe('192.0.2.1');
  });

  it('takes an IPv6 address by a /48 when asked (the sign-in lockout: review 20b M1)', () => {
    expect(clientSubject('2001:db8:1:2::1', { ipv6Prefix: 48 })).toBe('2001:db8:1::/48');
    expect(clientSubject('2001:0DB8:0001:ffff::9', { ipv6Prefix: 48 })).toBe('2001:db8:1::/48');
    expect(clientSubject('2001:db8:2::1', { ipv6Prefix: 48 })).not.toBe(
      clientSubject('2001:db8:1::1', { ipv6Prefix: 48 }),
    );
    expect(clientSubject('192.0.2.1', { ipv6Prefix: 48 })).toBe('192.0.2.1');
    expect(clientSubject('::ffff:192.0.2.1', { ipv6Prefix: 48 })).toBe('192.0.2.1');
  });
});
