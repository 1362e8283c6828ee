import { countSpfLookups, countTopLevelLookups, suggestSpfRecord, suggestSpfRecordChecked } from '../../../src/verification/spf-suggest';
import { FakeResolver } from './fake-resolver';

const X = '_spf.mw.example';

describe('suggestSpfRecord', () => {
  it.each<[string | null, string, string[]]>([
    [null, 'v=spf1 include:_spf.mw.example ~all', []],
    ['v=spf1 mx -all', 'v=spf1 mx include:_spf.mw.example -all', []],
    ['v=spf1 mx ~all', 'v=spf1 mx include:_spf.mw.example ~all', []],
    ['v=spf1 a ?all redirect=_spf.x.example', 'v=spf1 a include:_spf.mw.example ?all redirect=_spf.x.example', []],
    ['v=spf1 a redirect=_spf.x.example', 'v=spf1 a include:_spf.mw.example redirect=_spf.x.example', []],
    ['v=spf1 ip4:192.0.2.1', 'v=spf1 ip4:192.0.2.1 include:_spf.mw.example', []],
    ['v=spf1 ip4:192.0.2.1 ', 'v=spf1 ip4:192.0.2.1 include:_spf.mw.example', []],
    ['V=SPF1 MX -ALL', 'V=SPF1 MX include:_spf.mw.example -ALL', []],
    ['v=spf1 mx include:_spf.mw.example -all', 'v=spf1 mx include:_spf.mw.example -all', []],
    ['v=spf1 mx INCLUDE:_SPF.MW.EXAMPLE. -all', 'v=spf1 mx INCLUDE:_SPF.MW.EXAMPLE. -all', []],
    [
      'v=spf1 mx -all include:_spf.mw.example',
      'v=spf1 mx include:_spf.mw.example -all',
      ['"include:_spf.mw.example" came after "-all", where receivers never evaluate it; it was moved in front'],
    ],
    [
      'v=spf1 ~include:_spf.mw.example -all',
      'v=spf1 ~include:_spf.mw.example -all',
      ['"~include:_spf.mw.example" has qualifier "~", so our hosts do not get "pass"; write it as "include:_spf.mw.example"'],
    ],
    ['v=spf1 mx +all', 'v=spf1 mx include:_spf.mw.example +all', ['"+all" authorises every host on the internet to send as this domain; use "~all" or "-all"']],
    ['v=spf1 mx all', 'v=spf1 mx include:_spf.mw.example all', ['"all" authorises every host on the internet to send as this domain; use "~all" or "-all"']],
    ['v=spf1 mx foo -all', 'v=spf1 mx foo include:_spf.mw.example -all', ['the existing record has a syntax error, so receivers return permerror until it is fixed: unknown mechanism "foo"']],
    ['google-site-verification=x', 'v=spf1 include:_spf.mw.example ~all', ['the existing value "google-site-verification=x" is not an SPF record; it was not merged']],
  ])('%j → %s', (existing, value, warnings) => {
    expect(suggestSpfRecord(existing, X)).toEqual({ value, warnings });
  });

  it('warns when the merged record has more than 10 DNS-querying terms at the top level', () => {
    const existing = 'v=spf1 a mx ptr include:a.example include:b.example include:c.example exists:%{i}.e.example a:h.example mx:m.example redirect=r.example';
    const result = suggestSpfRecord(existing, X);
    expect(result.value).toBe(
      'v=spf1 a mx ptr include:a.example include:b.example include:c.example exists:%{i}.e.example a:h.example mx:m.example include:_spf.mw.example redirect=r.example',
    );
    expect(result.warnings).toEqual(['the record has 11 DNS-querying terms at the top level; SPF allows 10 in total and each include adds its own']);
    expect(suggestSpfRecord('v=spf1 a mx ptr include:a.example include:b.example include:c.example exists:x.example a:h.example mx:m.example', X).warnings).toEqual([]);
  });
});

describe('lookup counting', () => {
  it.each([
    ['v=spf1 -all', 0],
    ['v=spf1 ip4:192.0.2.1 ip6:::1 all exp=x.example', 0],
    ['v=spf1 a mx ptr exists:x.example include:y.example redirect=z.example', 6],
    ['v=spf1 -A ~MX:x.example/24 ?Include:y.example unknown=1', 3],
  ])('%s has %i top-level DNS-querying terms', (value, count) => {
    expect(countTopLevelLookups(value)).toBe(count);
  });

  it('follows includes and redirect through the resolver', async () => {
    const resolver = new FakeResolver({
      'a.example': { txt: ['v=spf1 mx include:b.example -all'] },
      'b.example': { txt: ['v=spf1 a a:x.example redirect=c.example'] },
      'c.example': { txt: ['v=spf1 exists:%{i}.c.example -all a'] },
    });
    expect(await countSpfLookups(resolver, 'v=spf1 include:a.example include:%{d}.macro.example -all', 'example.com')).toEqual({
      count: 8,
      complete: false,
      problems: ['"include:%{d}.macro.example" at example.com uses a macro and cannot be followed'],
    });
  });

  it('checks the merged record through the resolver', async () => {
    const resolver = new FakeResolver({
      'big.example': { txt: ['v=spf1 a:1.example a:2.example a:3.example a:4.example a:5.example a:6.example a:7.example a:8.example -all'] },
      '_spf.mw.example': { txt: ['v=spf1 include:_ips.mw.example -all'] },
      '_ips.mw.example': { txt: ['v=spf1 ip4:203.0.113.0/24 -all'] },
    });
    const result = await suggestSpfRecordChecked(resolver, 'v=spf1 include:big.example -all', X, 'example.com');
    expect(result).toEqual({
      value: 'v=spf1 include:big.example include:_spf.mw.example -all',
      warnings: ['the record needs more than 10 DNS-querying terms once its includes are followed; receivers will return permerror'],
      lookups: { count: 11, complete: true, problems: [] },
    });
    const small = await suggestSpfRecordChecked(resolver, null, X, 'example.com');
    expect([small.warnings, small.lookups]).toEqual([[], { count: 2, complete: true, problems: [] }]);
  });
});
