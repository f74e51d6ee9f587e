// CIDR lists, the IP filter and the trusted-proxy X-Forwarded-For walk, table-driven.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createIpFilter } from '../../../src/policy/ip-filter.js';
import { compileIpRanges, parseIp, parseIpRange } from '../../../src/policy/ip-ranges.js';
import { createClientAddressResolver } from '../../../src/server/client-address.js';

describe('parseIpRange', () => {
  it('accepts addresses and ranges of both families', () => {
    for (const text of ['10.0.0.0/8', '192.168.1.7', '0.0.0.0/0', '2001:db8::/32', '::1', '::/0', '::ffff:10.0.0.0/104']) {
      assert.notEqual(typeof parseIpRange(text), 'string', text);
    }
  });
  const bad: Array<[string, RegExp]> = [
    ['10.0.0.0/33', /prefix length/],
    ['10.0.0.1/8', /"10\.0\.0\.0\/8"/], // host bits set: the message gives the network
    ['10.0.0.0/', /prefix length/],
    ['10.0.0.0/8x', /prefix length/],
    ['127.1', /IP address or CIDR/], // ipaddr.js alone would read it as 127.0.0.1
    ['010.0.0.1', /IP address or CIDR/],
    ['example.com', /IP address or CIDR/],
    ['2001:db8::/129', /prefix length/],
    ['::ffff:10.0.0.0/90', /\/96 to \/128 for an IPv4-mapped range/],
  ];
  for (const [text, message] of bad) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      const result = parseIpRange(text);
      assert.equal(typeof result, 'string');
      assert.match(result as string, message);
    });
  }
});

describe('compileIpRanges', () => {
  const ranges = compileIpRanges(['10.0.0.0/8', '192.168.1.7', '2001:db8::/32', '::ffff:172.16.0.0/108', '0.0.0.0/32']);
  const cases: Array<[string, boolean]> = [
    ['10.1.2.3', true],
    ['11.0.0.1', false],
    ['::ffff:10.1.2.3', true], // IPv4-mapped IPv6 is the IPv4 address
    ['192.168.1.7', true],
    ['192.168.1.8', false],
    ['2001:db8:1::5', true],
    ['2001:db9::5', false],
    ['172.16.200.1', true], // from the mapped range ::ffff:172.16.0.0/108 = 172.16.0.0/12
    ['172.32.0.1', false],
    ['0.0.0.0', true],
    ['255.255.255.255', false],
  ];
  for (const [ip, expected] of cases) {
    it(`${ip} → ${expected}`, () => assert.equal(ranges.contains(parseIp(ip)!), expected));
  }
  it('/0 contains every address of its family only', () => {
    const all4 = compileIpRanges(['0.0.0.0/0']);
    assert.equal(all4.contains(parseIp('203.0.113.9')!), true);
    assert.equal(all4.contains(parseIp('2001:db8::1')!), false);
  });
});

describe('createIpFilter', () => {
  it('deny wins over allow; an empty allow list allows the rest', () => {
    const filter = createIpFilter({ allow: ['10.0.0.0/8'], deny: ['10.0.0.66'] });
    assert.equal(filter('10.0.0.1'), undefined);
    assert.equal(filter('::ffff:10.0.0.1'), undefined);
    const denied = filter('10.0.0.66')!;
    assert.equal(denied.reason, 'PG_IP_DENIED');
    assert.equal(denied.code, 7);
    assert.match(denied.message, /"10\.0\.0\.66" is in ipFilter\.deny/);
    assert.match(filter('::ffff:10.0.0.66')!.message, /ipFilter\.deny/);
    assert.match(filter('192.0.2.1')!.message, /is not in ipFilter\.allow/);
    const denyOnly = createIpFilter({ allow: [], deny: ['2001:db8::/32'] });
    assert.equal(denyOnly('192.0.2.1'), undefined);
    assert.equal(denyOnly('2001:db8::9')?.reason, 'PG_IP_DENIED');
  });
  it('an unreadable address passes a deny list but not an allow list', () => {
    assert.equal(createIpFilter({ allow: [], deny: ['10.0.0.0/8'] })(''), undefined);
    assert.equal(createIpFilter({ allow: ['10.0.0.0/8'], deny: [] })('')?.reason, 'PG_IP_DENIED');
  });
});

describe('trusted proxies and X-Forwarded-For', () => {
  it('is off (undefined) without trusted proxies', () => {
    assert.equal(createClientAddressResolver([]), undefined);
  });
  const resolve = createClientAddressResolver(['10.0.0.0/8', '2001:db8:ffff::/48'])!;
  const cases: Array<[name: string, peer: string, xff: string | string[] | undefined, expected: string]> = [
    ['untrusted peer: the header is ignored', '203.0.113.5', '198.51.100.1', '203.0.113.5'],
    ['trusted peer without the header: the peer', '10.0.0.2', undefined, '10.0.0.2'],
    ['trusted peer: the entry it appended', '10.0.0.2', '198.51.100.1', '198.51.100.1'],
    ['forged entries left of the real client are ignored', '10.0.0.2', '1.1.1.1, 6.6.6.6, 198.51.100.1', '198.51.100.1'],
    ['several trusted hops are skipped', '10.0.0.2', '198.51.100.1, 10.0.0.9, 10.0.0.3', '198.51.100.1'],
    ['IPv4-mapped peer counts as trusted', '::ffff:10.0.0.2', '198.51.100.1', '198.51.100.1'],
    ['IPv6 client via an IPv6 proxy', '2001:db8:ffff::1', '2001:db8:1::7', '2001:db8:1::7'],
    ['IPv4-mapped entry is normalised', '10.0.0.2', '::ffff:198.51.100.1', '198.51.100.1'],
    ['ports are stripped', '10.0.0.2', '[2001:db8:1::7]:4431, 198.51.100.1:80', '198.51.100.1'],
    ['bracketed IPv6 with port', '10.0.0.2', '[2001:db8:1::7]:4431', '2001:db8:1::7'],
    ['malformed rightmost entry: the walk stops at the trusted peer', '10.0.0.2', '198.51.100.1, unknown', '10.0.0.2'],
    ['malformed entry behind a trusted hop: the last trusted hop', '10.0.0.2', 'junk, 10.0.0.7', '10.0.0.7'],
    ['malformed entries left of the client do not matter', '10.0.0.2', '<script>, 198.51.100.1', '198.51.100.1'],
    ['empty entry: stop at the peer', '10.0.0.2', '198.51.100.1,', '10.0.0.2'],
    ['obsolete IPv4 forms are malformed', '10.0.0.2', '127.1', '10.0.0.2'],
    ['a port that is not digits is malformed', '10.0.0.2', '198.51.100.1:http', '10.0.0.2'],
    ['every hop trusted: the leftmost', '10.0.0.2', '10.0.0.5, 10.0.0.4', '10.0.0.5'],
    ['repeated headers (array) are joined in order', '10.0.0.2', ['6.6.6.6', '198.51.100.1'], '198.51.100.1'],
  ];
  for (const [name, peer, xff, expected] of cases) {
    it(name, () => assert.equal(resolve(peer, xff), expected));
  }
  it('examines a bounded number of hops', () => {
    const forged = Array.from({ length: 5000 }, () => '10.0.0.1').join(', ');
    const header = `198.51.100.1, ${forged}`;
    // 32 hops examined, all trusted: the walk ends on a trusted hop; reading all 5000 would
    // have reached the untrusted 198.51.100.1 at the far left
    assert.equal(resolve('10.0.0.2', header), '10.0.0.1');
  });
});
