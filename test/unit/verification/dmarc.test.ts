import { evaluateDmarc } from '../../../src/verification/dmarc';
import type { LookupResult } from '../../../src/dns/resolver';

const answer = (...records: (string | string[])[]): LookupResult<string[]> => ({
  kind: 'answer',
  records: records.map((r) => (Array.isArray(r) ? r : [r])),
});

describe('evaluateDmarc', () => {
  it('parses a full record with defaults filled in', () => {
    const result = evaluateDmarc(answer('v=DMARC1; p=quarantine; sp=reject; adkim=s; rua=mailto:a@example.com,mailto:b@example.net!10m; pct=50; fo=1; unknown=x;'), 'example.com');
    expect(result).toEqual({
      found: 'v=DMARC1; p=quarantine; sp=reject; adkim=s; rua=mailto:a@example.com,mailto:b@example.net!10m; pct=50; fo=1; unknown=x;',
      policy: { p: 'quarantine', sp: 'reject', adkim: 's', aspf: 'r', rua: ['mailto:a@example.com', 'mailto:b@example.net'], pct: 50 },
      advice: 'The policy is p=quarantine. Once the reports stay clean, consider p=reject. pct=50 applies the policy to only 50% of failing mail; raise it to 100 when confident.',
    });
  });

  it('assembles a record split across strings and ignores other TXT records', () => {
    const result = evaluateDmarc(answer('some-verification=1', ['v=DMARC1; p=re', 'ject; rua=mailto:d@example.com']));
    expect([result.found, result.policy?.p, result.policy?.sp, result.advice]).toEqual([
      'v=DMARC1; p=reject; rua=mailto:d@example.com',
      'reject',
      'reject',
      'The policy is p=reject, the strongest setting.',
    ]);
  });

  it.each<[string, LookupResult<string[]>, string]>([
    ['no record', { kind: 'nxdomain' }, 'No DMARC record. Publish one at _dmarc.example.com, for example "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com", to receive aggregate reports.'],
    ['no DMARC among TXT', answer('v=spf1 -all', 'V=DMARC1; p=none'), 'No DMARC record. Publish one at _dmarc.example.com, for example "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com", to receive aggregate reports.'],
    ['v= not first', answer('p=none; v=DMARC1'), 'No DMARC record. Publish one at _dmarc.example.com, for example "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com", to receive aggregate reports.'],
    ['a lookup failure', { kind: 'error', failure: 'timeout' }, 'Could not look up _dmarc.example.com (timeout); DMARC is advisory and will be checked again.'],
    ['two records', answer('v=DMARC1; p=none', 'v=DMARC1; p=reject'), '2 DMARC records are published at _dmarc.example.com; receivers ignore them all. Publish exactly one.'],
    ['p= missing without rua', answer('v=DMARC1; pct=100'), 'The DMARC record is invalid (p= is missing), so receivers ignore it. Publish, for example, "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com".'],
    ['a bad p= without rua', answer('v=DMARC1; p=block'), 'The DMARC record is invalid (p=block is not none, quarantine or reject), so receivers ignore it. Publish, for example, "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com".'],
    ['p=none with reports', answer('v=DMARC1; p=none; rua=mailto:r@example.com'), 'The policy is p=none (monitoring only). Once the aggregate reports show your legitimate mail passing, move to p=quarantine, then p=reject.'],
    ['p=none without reports', answer('v=DMARC1;p=none'), 'The policy is p=none (monitoring only). Once the aggregate reports show your legitimate mail passing, move to p=quarantine, then p=reject. There is no rua= address, so no aggregate reports arrive; add one such as rua=mailto:dmarc-reports@example.com.'],
    ['a bad p= with rua', answer('v=DMARC1; p=block; rua=mailto:r@example.com'), 'p=block is not none, quarantine or reject; receivers treat the record as p=none. The policy is p=none (monitoring only). Once the aggregate reports show your legitimate mail passing, move to p=quarantine, then p=reject.'],
    ['bad optional values', answer('v=DMARC1; p=reject; adkim=x; pct=150; rua=mailto:r@example.com'), 'adkim=x is invalid; relaxed alignment applies. pct=150 is not a number from 0 to 100; 100 applies. The policy is p=reject, the strongest setting.'],
  ])('%s', (_, records, advice) => {
    expect(evaluateDmarc(records, 'example.com').advice).toBe(advice);
  });

  it('gives no policy when there is none', () => {
    expect(evaluateDmarc({ kind: 'nodata' }, 'example.com')).toMatchObject({ found: null, policy: null });
    expect(evaluateDmarc(answer('v=DMARC1; p=none', 'v=DMARC1; p=reject'))).toMatchObject({ found: 'v=DMARC1; p=none', policy: null });
  });
});
