import { checkHost } from '../../../src/verification/spf-eval';
import { FakeResolver, type Zone } from './fake-resolver';

/** RFC 7208 Appendix A: the example.com / example.org zones, with `record` as example.com's SPF. */
function appendixA(record: string, more: Zone = {}): Zone {
  return {
    'example.com': { txt: [record], mx: ['10 mail-a.example.com', '20 mail-b.example.com'], a: ['192.0.2.10', '192.0.2.11'] },
    'amy.example.com': { a: ['192.0.2.65'] },
    'bob.example.com': { a: ['192.0.2.66'] },
    'mail-a.example.com': { a: ['192.0.2.129'] },
    'mail-b.example.com': { a: ['192.0.2.130'] },
    'example.org': { mx: ['10 mail-c.example.org'] },
    'mail-c.example.org': { a: ['192.0.2.140'] },
    '10.2.0.192.in-addr.arpa': { ptr: ['example.com'] },
    '11.2.0.192.in-addr.arpa': { ptr: ['example.com'] },
    '65.2.0.192.in-addr.arpa': { ptr: ['amy.example.com'] },
    '66.2.0.192.in-addr.arpa': { ptr: ['bob.example.com'] },
    '129.2.0.192.in-addr.arpa': { ptr: ['mail-a.example.com'] },
    '130.2.0.192.in-addr.arpa': { ptr: ['mail-b.example.com'] },
    '140.2.0.192.in-addr.arpa': { ptr: ['mail-c.example.org'] },
    // The rogue reverse entry: 10.0.0.4 claims to be bob, whose A record disagrees.
    '4.0.0.10.in-addr.arpa': { ptr: ['bob.example.com.'] },
    ...more,
  };
}

async function result(zone: Zone, ip: string, sender = 'sender@example.com'): Promise<string> {
  return (await checkHost(new FakeResolver(zone), { ip, domain: 'example.com', sender, helo: 'mx.example.com' })).result;
}

describe('RFC 7208 Appendix A.1 simple examples', () => {
  it.each([
    ['v=spf1 +all', '192.0.2.1', 'pass'],
    ['v=spf1 +all', '10.0.0.4', 'pass'],
    ['v=spf1 a -all', '192.0.2.10', 'pass'],
    ['v=spf1 a -all', '192.0.2.11', 'pass'],
    ['v=spf1 a -all', '192.0.2.65', 'fail'],
    ['v=spf1 a:example.org -all', '192.0.2.10', 'fail'],
    ['v=spf1 a:example.org -all', '192.0.2.140', 'fail'],
    ['v=spf1 mx -all', '192.0.2.129', 'pass'],
    ['v=spf1 mx -all', '192.0.2.130', 'pass'],
    ['v=spf1 mx -all', '192.0.2.10', 'fail'],
    ['v=spf1 mx:example.org -all', '192.0.2.140', 'pass'],
    ['v=spf1 mx:example.org -all', '192.0.2.129', 'fail'],
    ['v=spf1 mx mx:example.org -all', '192.0.2.129', 'pass'],
    ['v=spf1 mx mx:example.org -all', '192.0.2.130', 'pass'],
    ['v=spf1 mx mx:example.org -all', '192.0.2.140', 'pass'],
    ['v=spf1 mx mx:example.org -all', '192.0.2.65', 'fail'],
    ['v=spf1 mx/30 mx:example.org/30 -all', '192.0.2.128', 'pass'],
    ['v=spf1 mx/30 mx:example.org/30 -all', '192.0.2.131', 'pass'],
    ['v=spf1 mx/30 mx:example.org/30 -all', '192.0.2.143', 'pass'],
    ['v=spf1 mx/30 mx:example.org/30 -all', '192.0.2.132', 'fail'],
    ['v=spf1 mx/30 mx:example.org/30 -all', '192.0.2.139', 'fail'],
    ['v=spf1 ptr -all', '192.0.2.65', 'pass'],
    ['v=spf1 ptr -all', '192.0.2.140', 'fail'],
    ['v=spf1 ptr -all', '10.0.0.4', 'fail'],
    ['v=spf1 ip4:192.0.2.128/28 -all', '192.0.2.65', 'fail'],
    ['v=spf1 ip4:192.0.2.128/28 -all', '192.0.2.129', 'pass'],
  ])('%s for %s → %s', async (record, ip, expected) => {
    expect(await result(appendixA(record), ip)).toBe(expected);
  });

  it('names the matching term and counts the lookups', async () => {
    const outcome = await checkHost(new FakeResolver(appendixA('v=spf1 a mx -all')), { ip: '192.0.2.130', domain: 'example.com', sender: 's@example.com' });
    expect(outcome).toEqual({
      result: 'pass',
      reason: '192.0.2.130 matched "mx" in the SPF record of example.com',
      matched: 'mx',
      lookups: 2,
      voidLookups: 0,
      records: ['v=spf1 a mx -all'],
    });
  });
});

describe('RFC 7208 Appendix A.3 DNSBL-style example', () => {
  const zone = appendixA('v=spf1 mx include:mobile-users._spf.%{d} include:remote-users._spf.%{d} -all', {
    'mobile-users._spf.example.com': { txt: ['v=spf1 exists:%{l1r+}.%{d}'] },
    'remote-users._spf.example.com': { txt: ['v=spf1 exists:%{ir}.%{l1r+}.%{d}'] },
    'mary.mobile-users._spf.example.com': { a: ['127.0.0.2'] },
    '15.15.168.192.joel.remote-users._spf.example.com': { a: ['127.0.0.2'] },
  });

  it.each([
    ['mary@example.com', '198.51.100.7', 'pass'],
    ['mary+news@example.com', '198.51.100.7', 'pass'],
    ['joel@example.com', '192.168.15.15', 'pass'],
    ['joel@example.com', '192.168.15.16', 'fail'],
    ['fred@example.com', '198.51.100.7', 'fail'],
  ])('%s from %s → %s', async (sender, ip, expected) => {
    expect(await result(zone, ip, sender)).toBe(expected);
  });

  it('spends two void lookups on a sender in neither list, within the limit', async () => {
    const outcome = await checkHost(new FakeResolver(zone), { ip: '198.51.100.7', domain: 'example.com', sender: 'fred@example.com' });
    expect([outcome.result, outcome.voidLookups, outcome.lookups, outcome.matched]).toEqual(['fail', 2, 5, '-all']);
  });
});

describe('RFC 7208 Appendix A.4 multiple requirements', () => {
  // ptr._spf uses "-ptr:example.com" as corrected by erratum 6216.
  const zone = appendixA('v=spf1 -include:ip4._spf.%{d} -include:ptr._spf.%{d} +all', {
    'ip4._spf.example.com': { txt: ['v=spf1 -ip4:192.0.2.0/24 +all'] },
    'ptr._spf.example.com': { txt: ['v=spf1 -ptr:example.com +all'] },
  });

  it.each([
    ['192.0.2.65', 'pass'],
    ['192.0.2.140', 'fail'],
    ['10.0.0.4', 'fail'],
  ])('%s → %s', async (ip, expected) => {
    expect(await result(zone, ip)).toBe(expected);
  });
});
