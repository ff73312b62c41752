import { addressBlock } from './address-block.js';

describe('addressBlock', () => {
  it('keeps an IPv4 address, and takes one mapped into IPv6 as that address', () => {
    expect(addressBlock('192.0.2.1')).toBe('192.0.2.1');
    expect(addressBlock('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(addressBlock('::FFFF:192.0.2.1')).toBe('192.0.2.1');
  });

  it('takes an IPv6 address by its /64, whatever its spelling and interface identifier', () => {
    const block = '2001:db8:1:2::/64';
    for (const address of [
      '2001:db8:1:2::1',
      '2001:db8:1:2:ffff:ffff:ffff:ffff',
      '2001:0DB8:0001:0002:0:0:0:9',
      '2001:db8:1:2:a::b',
      '2001:db8:1:2::5%eth0',
      '2001:db8:1:2::1.2.3.4',
    ]) {
      expect({ address, block: addressBlock(address) }).toEqual({ address, block });
    }
    expect(addressBlock('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
    expect(addressBlock('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressBlock('::1')).toBe('0:0:0:0::/64');
    expect(addressBlock('fe80::1:2:3:4')).toBe('fe80:0:0:0::/64');
    expect(addressBlock('1:2:3::4:5:6:7')).toBe('1:2:3:0::/64');
  });

  it('returns anything else as given', () => {
    expect(addressBlock(undefined)).toBe('');
    expect(addressBlock('not an address')).toBe('not an address');
  });
});
