import type { LookupResult, MxRecord } from '../dns/resolver';
import { describeFailure } from '../dns/lookup';
import type { Verdict } from './verdict';

/**
 * The MX at a return-path subdomain (DESIGN §6): it must name `mxHost`, so that bounces
 * for the subdomain reach the bounce intake. Other exchanges beside it are allowed (an
 * owner may keep a backup) but reported; a lookup failure is a temperror, as everywhere.
 */
export function evaluateReturnPathMx(r: LookupResult<MxRecord>, mxHost: string): { status: Verdict; found: string[]; reason: string | null } {
  if (r.kind === 'error') return { status: 'temperror', found: [], reason: describeFailure(r) };
  if (r.kind !== 'answer' || r.records.length === 0) {
    return { status: 'fail', found: [], reason: `no MX record (${describeFailure(r)}): publish MX 10 ${mxHost}` };
  }
  const want = mxHost.toLowerCase().replace(/\.$/, '');
  const found = r.records.map((m) => `${m.preference} ${m.exchange}`);
  if (!r.records.some((m) => m.exchange === want)) return { status: 'fail', found, reason: `the MX does not name ${want}` };
  return { status: 'pass', found, reason: null };
}
