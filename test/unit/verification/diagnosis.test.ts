import { diagnose, misplacedNames, type DiagnosisEvidence, type DiagnosisSubject } from '../../../src/verification/diagnosis';
import { DIAGNOSIS_QUERY_BUDGET, gatherEvidence } from '../../../src/verification/diagnosis-lookups';
import { dkimValue, recordHost, splitTxt } from '../../../src/verification/records';
import { mergeSpfRecords, type SpfTermCost } from '../../../src/verification/value-diagnosis';
import { FakeResolver } from './fake-resolver';

const KEY = 'q8kZ3m5QJ0b2Xw9yR7tV1uN4pL6sD8fH2gK0jA3cE5o=';
const ED = { kind: 'dkim' as const, keyType: 'ed25519' as const, publicKey: KEY };
const DKIM = dkimValue('ed25519', KEY);
// An RSA-sized key: its value needs two strings.
const LONG_KEY = 'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'.padEnd(392, 'abcXYZ0189+/');
const RSA = { kind: 'dkim' as const, keyType: 'rsa' as const, publicKey: LONG_KEY };
const INCLUDE = '_spf.mw.test';
const SPF = { kind: 'spf' as const, includeDomain: INCLUDE };

const dkimAt = (domain: string, zone = 'example.com', value: DiagnosisSubject['value'] = ED): DiagnosisSubject => ({
  name: `sel._domainkey.${domain}`,
  domain,
  zone,
  value,
});
const spfAt = (domain: string, zone = 'example.com'): DiagnosisSubject => ({ name: domain, domain, zone, value: SPF });
const evidence = (e: Partial<DiagnosisEvidence>): DiagnosisEvidence => ({ atName: [], cname: null, elsewhere: [], ...e });
const MOVE = (from: string, to: string, record = 'DKIM TXT', zone = 'example.com') =>
  `Move the ${record} record from host "${from}" to host "${to}" (in the zone ${zone}; the provider appends the zone itself).`;
const UNQUOTE = (host: string) => `Enter the value at host "${host}" without any quote characters: the DNS provider adds them itself.`;
const JOIN = (host: string) => `Enter the value at host "${host}" with nothing between the strings (or paste the whole value and let the provider split it).`;

describe('recordHost: the label relative to the zone', () => {
  it.each([
    ['example.com', 'example.com', '@'],
    ['Example.COM.', 'example.com', '@'],
    ['sel._domainkey.example.com', 'example.com', 'sel._domainkey'],
    ['sel._domainkey.mail.example.com', 'example.com', 'sel._domainkey.mail'],
    ['sel._domainkey.mail.example.com', 'mail.example.com', 'sel._domainkey'],
    ['mail.example.com', 'example.com', 'mail'],
    ['notexample.com', 'example.com', 'notexample.com'],
    ['other.org', 'example.com', 'other.org'],
  ])('%s in zone %s → %s', (name, zone, host) => {
    expect(recordHost(name, zone)).toBe(host);
  });
});

describe('misplacedNames: where misplaced copies land', () => {
  it('DKIM at the zone apex: the zone doubled, and the apex', () => {
    expect(misplacedNames(dkimAt('example.com'))).toEqual([
      { name: 'sel._domainkey.example.com.example.com', mistake: 'zone_doubled' },
      { name: 'example.com', mistake: 'at_apex' },
    ]);
  });
  it('DKIM of a domain below its zone: also the host typed relative to the domain, and both apexes', () => {
    expect(misplacedNames(dkimAt('mail.example.com'))).toEqual([
      { name: 'sel._domainkey.mail.example.com.example.com', mistake: 'zone_doubled' },
      { name: 'sel._domainkey.example.com', mistake: 'missing_subdomain' },
      { name: 'mail.example.com', mistake: 'at_apex' },
      { name: 'example.com', mistake: 'at_apex' },
    ]);
  });
  it('SPF of a domain below its zone: the zone doubled and the zone apex', () => {
    expect(misplacedNames(spfAt('mail.example.com'))).toEqual([
      { name: 'mail.example.com.example.com', mistake: 'zone_doubled' },
      { name: 'example.com', mistake: 'missing_subdomain' },
    ]);
  });
});

describe('mergeSpfRecords', () => {
  it.each([
    [['v=spf1 mx -all', 'v=spf1 include:_spf.google.com ~all'], 'v=spf1 mx include:_spf.google.com include:_spf.mw.test -all'],
    [['v=spf1 mx include:_spf.mw.test ~all', 'v=spf1 MX a ~all'], 'v=spf1 mx include:_spf.mw.test a ~all'],
    [['v=spf1 ip4:192.0.2.1', 'v=spf1 redirect=_spf.other.test'], 'v=spf1 ip4:192.0.2.1 include:_spf.mw.test redirect=_spf.other.test'],
    [['v=spf1 a', 'v=spf1 mx'], 'v=spf1 a mx include:_spf.mw.test ~all'],
  ])('%j → %s', (records, merged) => {
    expect(mergeSpfRecords(records, INCLUDE)).toBe(merged);
  });
});

const googleEtc: SpfTermCost[] = [
  { term: 'include:_spf.google.com', lookups: 4, complete: true },
  { term: 'include:spf.protection.outlook.com', lookups: 2, complete: true },
  { term: 'mx', lookups: 1, complete: true },
  { term: 'include:mailgun.org', lookups: 3, complete: true },
  { term: 'include:_spf.mw.test', lookups: 2, complete: true },
];

describe('diagnose: each mistake with its exact hint', () => {
  it.each<[string, DiagnosisSubject, Partial<DiagnosisEvidence>, string, string, RegExp]>([
    [
      'DKIM with the zone doubled',
      dkimAt('example.com'),
      { elsewhere: [{ name: 'sel._domainkey.example.com.example.com', records: [[DKIM]] }] },
      'zone_doubled',
      MOVE('sel._domainkey.example.com', 'sel._domainkey'),
      /published at sel\._domainkey\.example\.com\.example\.com: the zone was typed into the host/,
    ],
    [
      'DKIM at the apex instead of the selector name',
      dkimAt('example.com'),
      { elsewhere: [{ name: 'example.com', records: [['v=spf1 -all'], splitTxt(DKIM)] }] },
      'at_apex',
      MOVE('@', 'sel._domainkey'),
      /published at example\.com \(the apex\) instead of at sel\._domainkey\.example\.com/,
    ],
    [
      'DKIM of mail.example.com at the apex of mail',
      dkimAt('mail.example.com'),
      { elsewhere: [{ name: 'mail.example.com', records: [[DKIM]] }] },
      'at_apex',
      MOVE('mail', 'sel._domainkey.mail'),
      /the apex/,
    ],
    [
      'DKIM of mail.example.com typed relative to the domain into the zone',
      dkimAt('mail.example.com'),
      { elsewhere: [{ name: 'sel._domainkey.example.com', records: [[DKIM]] }] },
      'missing_subdomain',
      MOVE('sel._domainkey', 'sel._domainkey.mail'),
      /left out the part of mail\.example\.com below the zone example\.com/,
    ],
    [
      // The apex's SPF record may be the zone's own (example.com sending through us too): never "move" it.
      'SPF of mail.example.com at the zone apex',
      spfAt('mail.example.com'),
      { elsewhere: [{ name: 'example.com', records: [['v=spf1 include:_spf.mw.test ~all']] }] },
      'missing_subdomain',
      'Add the SPF record at host "mail" (in the zone example.com; the provider appends the zone itself). Keep the one at host "@" if example.com sends mail itself; otherwise delete it.',
      /an SPF record with include:_spf\.mw\.test is published at example\.com \(the zone apex\) but none at mail\.example\.com/,
    ],
    [
      'SPF with the zone doubled',
      spfAt('example.com'),
      { atName: [['google-site-verification=x']], elsewhere: [{ name: 'example.com.example.com', records: [['v=spf1 include:_spf.mw.test ~all']] }] },
      'zone_doubled',
      MOVE('example.com', '@', 'SPF TXT'),
      /zone was typed into the host/,
    ],
    [
      'a CNAME where the DKIM TXT belongs',
      dkimAt('example.com'),
      { cname: 's1.domainkey.u1.old-provider.net' },
      'cname_instead_of_txt',
      'Delete the CNAME at host "sel._domainkey" and add a TXT record at host "sel._domainkey" with the value shown.',
      /a CNAME \(to s1\.domainkey\.u1\.old-provider\.net\) is published at sel\._domainkey\.example\.com where the TXT record belongs/,
    ],
    [
      'a CNAME at a return path that needs MX and TXT',
      { name: 'bounce.example.com', domain: 'example.com', zone: 'example.com', value: { kind: 'mx', exchange: 'mx.mw.test' }, alongside: ['TXT'] },
      { cname: 'example.com' },
      'cname_beside_records',
      'Delete the CNAME at host "bounce", then add the MX and TXT records at host "bounce".',
      /also needs MX and TXT records; a CNAME cannot share its name/,
    ],
    [
      "the same CNAME seen from the return path's SPF record: the same hint, in the same order",
      { name: 'bounce.example.com', domain: 'example.com', zone: 'example.com', value: { kind: 'spf', includeDomain: '_spf.mw.test' }, alongside: ['MX'] },
      { cname: 'example.com' },
      'cname_beside_records',
      'Delete the CNAME at host "bounce", then add the MX and TXT records at host "bounce".',
      /also needs MX and TXT records; a CNAME cannot share its name/,
    ],
    [
      'a return-path MX with the zone doubled',
      { name: 'bounce.example.com', domain: 'example.com', zone: 'example.com', value: { kind: 'mx', exchange: 'mx.mw.test' } },
      { elsewhere: [{ name: 'bounce.example.com.example.com', records: [['mx.mw.test']] }] },
      'zone_doubled',
      MOVE('bounce.example.com', 'bounce', 'MX'),
      /MX record is published at bounce\.example\.com\.example\.com/,
    ],
    ['the DKIM value quoted twice', dkimAt('example.com'), { atName: [[`"${DKIM}"`]] }, 'quoted', UNQUOTE('sel._domainkey'), /quoted twice: it holds quote characters/],
    [
      'the DKIM strings pasted with their quotes',
      dkimAt('example.com', 'example.com', RSA),
      { atName: [[splitTxt(dkimValue('rsa', LONG_KEY)).map((s) => `"${s}"`).join(' ')]] },
      'quoted',
      UNQUOTE('sel._domainkey'),
      /its strings were pasted as one value with the quotes between them/,
    ],
    [
      'the DKIM value split with a space inside a tag',
      dkimAt('example.com'),
      { atName: [['v=DKIM1; k=ed', ' 25519; p=' + KEY]] },
      'split',
      JOIN('sel._domainkey'),
      /a space was inserted between its strings \("=DKIM1; k=ed 25519; p=q8k"\)/,
    ],
    [
      'the DKIM strings entered as two records',
      dkimAt('mail.example.com', 'example.com', RSA),
      { atName: splitTxt(dkimValue('rsa', LONG_KEY)).map((s) => [s]) },
      'split_records',
      'Delete the 2 TXT records at host "sel._domainkey.mail" and add one TXT record there with the whole value (the provider splits it into strings itself, or enter the strings shown into one record).',
      /entered as 2 separate TXT records/,
    ],
    [
      'only the first string of the key entered',
      dkimAt('example.com', 'example.com', RSA),
      { atName: [[splitTxt(dkimValue('rsa', LONG_KEY))[0]]] },
      'truncated',
      'Enter the whole value at host "sel._domainkey": every string shown, in order, in one TXT record.',
      /only the first 237 of the key's 392 characters/,
    ],
    [
      'v=DKIM1 missing its "v="',
      dkimAt('example.com'),
      { atName: [[`DKIM1; k=ed25519; p=${KEY}`]] },
      'missing_version',
      'Start the value at host "sel._domainkey" with "v=DKIM1;" (tag, equals sign, DKIM1, semicolon), then the rest as shown.',
      /does not start with "v=DKIM1;"/,
    ],
    [
      'k=ed25519 missing',
      dkimAt('example.com'),
      { atName: [[`v=DKIM1; p=${KEY}`]] },
      'missing_key_type',
      'Add "k=ed25519;" after "v=DKIM1;" in the value at host "sel._domainkey".',
      /no "k=", which means rsa, but the key is ed25519/,
    ],
    [
      'k=rsa for an ed25519 key',
      dkimAt('example.com'),
      { atName: [[`v=DKIM1; k=rsa; p=${KEY}`]] },
      'missing_key_type',
      'Set "k=ed25519;" in the value at host "sel._domainkey".',
      /has "k=rsa" but the key is ed25519/,
    ],
    [
      'a second SPF record beside the first',
      spfAt('example.com'),
      { atName: [['v=spf1 mx -all'], ['v=spf1 include:_spf.google.com ~all']] },
      'multiple_spf',
      'Publish one SPF record at host "@" and delete the other: v=spf1 mx include:_spf.google.com include:_spf.mw.test -all',
      /2 SPF records are published/,
    ],
    ['the SPF value quoted twice', spfAt('mail.example.com'), { atName: [['"v=spf1 include:_spf.mw.test ~all"']] }, 'quoted', UNQUOTE('mail'), /quoted twice/],
    [
      'the SPF value split inside our include',
      spfAt('example.com'),
      { atName: [['v=spf1 mx include:_spf.mw.te', ' st ~all']] },
      'split',
      JOIN('@'),
      /a space was inserted between its strings \("e:_spf.mw.te st ~all"\)/,
    ],
    [
      'an SPF record over the lookup limit with our include',
      spfAt('example.com'),
      { atName: [['v=spf1 include:_spf.google.com include:spf.protection.outlook.com mx include:mailgun.org ~all']], spfCosts: googleEtc },
      'spf_lookup_limit',
      'In the SPF record at host "@", flatten (replace with the ip4:/ip6: ranges they name) or drop include:_spf.google.com (4 lookups), to stay within 10 lookups.',
      /with include:_spf\.mw\.test the SPF record needs 12 DNS lookups; receivers allow 10/,
    ],
    [
      'an SPF record far over the limit, one count a lower bound',
      spfAt('example.com'),
      {
        atName: [['v=spf1 include:a.test include:b.test include:c.test ~all']],
        spfCosts: [
          { term: 'include:a.test', lookups: 5, complete: true },
          { term: 'include:b.test', lookups: 11, complete: false },
          { term: 'include:c.test', lookups: 1, complete: true },
          { term: 'include:_spf.mw.test', lookups: 2, complete: true },
        ],
      },
      'spf_lookup_limit',
      'In the SPF record at host "@", flatten (replace with the ip4:/ip6: ranges they name) or drop include:b.test (at least 11 lookups), to stay within 10 lookups.',
      /needs at least 19 DNS lookups/,
    ],
  ])('%s', (_label, subject, found, code, hint, reason) => {
    const d = diagnose(subject, evidence(found));
    expect(d).toEqual({ code, hint, reason: expect.stringMatching(reason) });
  });

  it.each<[string, DiagnosisSubject, Partial<DiagnosisEvidence>]>([
    ['nothing published anywhere', dkimAt('example.com'), {}],
    ['the lookup at the name failed and nothing is elsewhere', dkimAt('example.com'), { atName: null }],
    ['a different key at the selector', dkimAt('example.com'), { atName: [[`v=DKIM1; k=ed25519; p=${'A'.repeat(43)}=`]] }],
    ['someone else\'s SPF at the zone apex', spfAt('mail.example.com'), { elsewhere: [{ name: 'example.com', records: [['v=spf1 include:_spf.google.com ~all']] }] }],
    ['an SPF record within the limit', spfAt('example.com'), { atName: [['v=spf1 mx ~all']], spfCosts: googleEtc.slice(1) }],
    ['a record that passes', dkimAt('example.com'), { atName: [[DKIM]] }],
    ['an SPF record with a quote character inside, not around it', spfAt('example.com'), { atName: [['v=spf1 <img onerror="x"> ~all']] }],
  ])('names no mistake for %s', (_label, subject, found) => {
    expect(diagnose(subject, evidence(found))).toBeNull();
  });

  it('a record already at the right name wins over a copy elsewhere', () => {
    const d = diagnose(dkimAt('example.com'), evidence({ atName: [[`v=DKIM1; p=${KEY}`]], elsewhere: [{ name: 'example.com', records: [[DKIM]] }] }));
    expect(d?.code).toBe('missing_key_type');
  });

  it('echoes only a short, printable excerpt of what it found', () => {
    const target = `x\u0000\u001b[31m${'a'.repeat(500)}.evil.test`;
    const d = diagnose(dkimAt('example.com'), evidence({ cname: target }))!;
    expect(d.reason).not.toMatch(/[\u0000-\u001f]/);
    expect(d.reason.length).toBeLessThan(200);
    const quoted = diagnose(dkimAt('example.com'), evidence({ atName: [[`"${DKIM}"; x=${'\u0007'.repeat(3000)}`]] }))!;
    expect(quoted.code).toBe('quoted');
    expect(quoted.reason.length).toBeLessThan(200);
  });

  it("names the rotation mistake: the new selector's key published over the old selector's record", () => {
    const active = { ...ED, otherSelectors: [{ selector: 'new', host: 'new._domainkey', publicKey: LONG_KEY }] };
    const d = diagnose(dkimAt('example.com', 'example.com', active), evidence({ atName: [splitTxt(dkimValue('rsa', LONG_KEY))] }));
    expect(d).toEqual({
      code: 'other_selector',
      reason: 'the record at sel._domainkey.example.com holds the key of selector new: it was replaced instead of a new record being added at new._domainkey.example.com',
      hint: 'Put the value shown back at host "sel._domainkey", and add the record of selector new at host "new._domainkey" beside it.',
    });
  });

  it('never shows a merged SPF record holding control characters in the hint', () => {
    const d = diagnose(spfAt('example.com'), evidence({ atName: [['v=spf1 mx\u0007\u001b[31m -all'], ['v=spf1 a \u001b]0;owned\u0007 ~all']] }))!;
    expect(d.code).toBe('multiple_spf');
    expect(d.hint).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(d.hint).toBe('Publish one SPF record at host "@" and delete the other: the merged record shown as the value');
  });
});

describe('gatherEvidence: a few bounded lookups', () => {
  it('asks the CNAME, the name and the misplaced names once each, and the SPF includes for their cost', async () => {
    const resolver = new FakeResolver({
      'example.com': { txt: ['v=spf1 include:_spf.google.com mx ~all'] },
      '_spf.google.com': { txt: ['v=spf1 include:_netblocks.google.com include:_netblocks2.google.com ~all'] },
      '_netblocks.google.com': { txt: ['v=spf1 ip4:192.0.2.0/24 ~all'] },
      '_netblocks2.google.com': { txt: ['v=spf1 ip4:198.51.100.0/24 ~all'] },
      '_spf.mw.test': { txt: ['v=spf1 ip4:203.0.113.0/24 -all'] },
    });
    const found = await gatherEvidence(resolver, spfAt('example.com'));
    expect(found.cname).toBeNull();
    expect(found.atName).toEqual([['v=spf1 include:_spf.google.com mx ~all']]);
    expect(found.spfCosts).toEqual([
      { term: 'include:_spf.google.com', lookups: 3, complete: true },
      { term: 'mx', lookups: 1, complete: true },
      { term: 'include:_spf.mw.test', lookups: 1, complete: true },
    ]);
    expect(resolver.queries.slice(0, 3).sort()).toEqual(['CNAME example.com', 'TXT example.com', 'TXT example.com.example.com']);
  });

  it('stops at the query budget however deep the includes go', async () => {
    const zone: Record<string, { txt: string[] }> = { 'example.com': { txt: ['v=spf1 include:n0.test include:m0.test ~all'] } };
    for (let i = 0; i < 40; i++) {
      zone[`n${i}.test`] = { txt: [`v=spf1 include:n${i + 1}.test ~all`] };
      zone[`m${i}.test`] = { txt: [`v=spf1 include:m${i + 1}.test ~all`] };
    }
    const resolver = new FakeResolver(zone);
    const found = await gatherEvidence(resolver, spfAt('example.com'));
    expect(resolver.queries.length).toBeLessThanOrEqual(DIAGNOSIS_QUERY_BUDGET);
    expect(found.spfCosts?.every((c) => c.term.startsWith('include:'))).toBe(true);
    expect(found.spfCosts?.some((c) => !c.complete)).toBe(true);
  });

  it('sees a CNAME at the name', async () => {
    const resolver = new FakeResolver({ 'sel._domainkey.example.com': { cname: 'sel.dkim.elsewhere.test' } });
    const found = await gatherEvidence(resolver, dkimAt('example.com'));
    expect(found.cname).toBe('sel.dkim.elsewhere.test');
  });
});
