import { classifyAddress } from '../net/ip-range';
import type { Nameserver } from './nameserver-discovery';

/** At most this many nameserver addresses of one zone are queried in one check. */
export const MAX_NAMESERVER_ADDRESSES = 8;

export interface NameserverSelectionOptions {
  /** Query nameservers on loopback, private and other non-public addresses (DNS_ALLOW_PRIVATE; tests only). */
  allowPrivate: boolean;
  /** Addresses queried per zone; default MAX_NAMESERVER_ADDRESSES. */
  max?: number;
}

export interface NameserverSelection {
  queried: Nameserver[];
  /** Addresses that are not queried, each with the reason. */
  skipped: Array<{ ns: Nameserver; reason: string }>;
}

/**
 * Chooses which of a zone's nameserver addresses a check may query. A zone's owner picks
 * its NS addresses, so a zone could otherwise point our queries at internal hosts, or fan
 * one check out to hundreds of addresses.
 */
export function selectNameservers(nameservers: Nameserver[], options: NameserverSelectionOptions): NameserverSelection {
  const max = options.max ?? MAX_NAMESERVER_ADDRESSES;
  const queried: Nameserver[] = [];
  const skipped: NameserverSelection['skipped'] = [];
  for (const ns of nameservers) {
    const cls = classifyAddress(ns.ip);
    if (!cls.public && !options.allowPrivate) {
      skipped.push({ ns, reason: `nameserver address ${ns.ip} is ${cls.range}; not queried` });
    } else if (queried.length >= max) {
      skipped.push({ ns, reason: `nameserver address ${ns.ip} not queried: at most ${max} addresses per zone are queried` });
    } else {
      queried.push(ns);
    }
  }
  return { queried, skipped };
}
