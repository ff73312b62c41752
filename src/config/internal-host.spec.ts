import { isInternalHost } from './internal-host.js';

const internal = (url: string) => isInternalHost(new URL(url));

describe('isInternalHost', () => {
  it.each([
    'http://127.0.0.1:9000/admin',
    'http://0x7f000001/',
    'http://2130706433/',
    'http://017700000001/',
    'http://127.1/',
    'http://0/',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::ffff:a9fe:a9fe]/x',
    'http://[0:0:0:0:0:ffff:7f00:1]/',
    'http://[::ffff:10.1.2.3]/',
    'http://[64:ff9b::a9fe:a9fe]/',
    'http://[::1]/',
    'http://[::]/',
    'http://[::7f00:1]/',
    'http://[fd00:ec2::254]/',
    'http://[FE80::1]/',
    'http://[ff02::1]/',
    'http://10.0.0.1/',
    'http://172.31.255.255/',
    'http://192.168.1.1/',
    'http://100.100.100.200/',
    'http://224.0.0.1/',
    'http://255.255.255.255/',
    'http://localhost:8080/',
    'http://LOCALHOST./',
    'http://api.localhost/',
    'http://metadata.google.internal/computeMetadata/v1/',
    'http://metadata.google.internal./',
    'http://metadata/computeMetadata/v1/',
    'http://instance-data/latest/meta-data/',
    'http://instance-data.ec2.internal/latest/',
  ])('%s is internal', (url) => expect(internal(url)).toBe(true));

  it.each([
    'https://hooks.example.com/x',
    'https://8.8.8.8/',
    'https://172.32.0.1/',
    'https://100.128.0.1/',
    'https://[2001:db8::1]/',
    'https://[::ffff:8.8.8.8]/',
    'https://[64:ff9b::808:808]/',
    'https://localhost.example.com/',
    'https://169.254.example.com/',
  ])('%s is not', (url) => expect(internal(url)).toBe(false));
});
