import { request } from 'node:https';
import { rootCertificates } from 'node:tls';
import { parsePolicy, resolvePolicy } from 'mailauth/lib/mta-sts';
import type { Clock } from '../clock';
import type { CheckResolver } from '../dns/resolver';
import type { Logger } from '../logger';
import { nodeStyleResolve } from './mx-routes';

/** A domain's MTA-STS policy (RFC 8461 §3.2) as fetched, with when it stops applying. */
export interface MtaStsPolicy {
  /** The `id` of the `_mta-sts` TXT record the policy was fetched for. */
  id: string;
  mode: 'enforce' | 'testing' | 'none';
  /** MX patterns, lowercase: `mx.example.com` or `*.example.com`. */
  mx: string[];
  maxAgeSeconds: number;
  expiresAt: number;
}

export interface MtaStsOptions {
  /** HTTPS port of the `mta-sts.<domain>` policy host: 443, another one for tests. */
  port: number;
  /** PEM certificates trusted besides the system roots (tests: the local policy host's). */
  ca?: string[];
  /** Time out for one policy fetch. */
  timeoutMs: number;
  /** How long the `_mta-sts` TXT id of a cached policy is trusted before it is asked again. */
  recheckMs: number;
}

const WELL_KNOWN = '/.well-known/mta-sts.txt';
// RFC 8461 §3.3: senders may limit the body; real policies are a few hundred bytes.
const MAX_POLICY_BYTES = 64 * 1024;
// RFC 8461 §3.2: max_age is at most 31557600 s (about a year).
const MAX_AGE_CAP_S = 31_557_600;

interface Entry {
  policy: MtaStsPolicy | null;
  /** When the TXT id was last confirmed (or a fetch last failed). */
  checkedAt: number;
}

/**
 * MTA-STS policies (RFC 8461) of recipient domains, cached in memory. The TXT record is read
 * through the configured resolvers (mailauth's `resolvePolicy`); the policy is fetched here,
 * over HTTPS with certificate validation, from the policy host's address as DNS gives it,
 * on a configurable port with configurable extra CAs (mailauth's own fetch is fixed to 443
 * and the system CAs), and parsed with mailauth's `parsePolicy`.
 */
export class MtaStsPolicies {
  private readonly cache = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<MtaStsPolicy | null>>();
  private readonly resolve: ReturnType<typeof nodeStyleResolve>;

  constructor(
    private readonly resolver: CheckResolver,
    private readonly options: MtaStsOptions,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.resolve = nodeStyleResolve(resolver);
  }

  /** The policy that applies to `domain` now, or null when none does (mode `none` included). */
  async policyFor(domain: string): Promise<MtaStsPolicy | null> {
    const now = this.clock.now().getTime();
    const entry = this.cache.get(domain);
    if (entry && now - entry.checkedAt < this.options.recheckMs) return live(entry.policy, now);
    let pending = this.inflight.get(domain);
    if (!pending) {
      pending = this.refresh(domain, entry, now).finally(() => this.inflight.delete(domain));
      this.inflight.set(domain, pending);
    }
    return pending;
  }

  private async refresh(domain: string, entry: Entry | undefined, now: number): Promise<MtaStsPolicy | null> {
    const cached = live(entry?.policy ?? null, now);
    let id: string | false;
    try {
      id = await resolvePolicy(domain, { resolver: this.resolve as never });
    } catch (err) {
      // RFC 8461 §5.1: a cached, unexpired policy still applies while DNS fails.
      this.logger.warn({ domain, err: (err as Error).message }, 'MTA-STS TXT lookup failed');
      return cached;
    }
    if (!id) {
      // A policy whose TXT record was removed still applies until it expires (RFC 8461 §10.2).
      this.cache.set(domain, { policy: cached, checkedAt: now });
      return cached;
    }
    if (cached && cached.id === id) {
      this.cache.set(domain, { policy: cached, checkedAt: now });
      return cached;
    }
    try {
      const body = await this.fetch(domain);
      const parsed = parsePolicy(body);
      const maxAgeSeconds = Math.min(parsed.maxAge ?? 0, MAX_AGE_CAP_S);
      const policy: MtaStsPolicy = {
        id,
        mode: parsed.mode,
        mx: (parsed.mx ?? []).map((p) => p.toLowerCase()),
        maxAgeSeconds,
        expiresAt: now + maxAgeSeconds * 1000,
      };
      this.cache.set(domain, { policy, checkedAt: now });
      this.logger.info({ domain, id, mode: policy.mode }, 'MTA-STS policy fetched');
      return live(policy, now);
    } catch (err) {
      // RFC 8461 §5.1: no usable new policy keeps the cached one, or else no policy at all.
      this.logger.warn({ domain, id, err: (err as Error).message }, 'MTA-STS policy fetch failed');
      this.cache.set(domain, { policy: cached, checkedAt: now });
      return cached;
    }
  }

  /** GET https://mta-sts.<domain>/.well-known/mta-sts.txt, no redirects (RFC 8461 §3.3). */
  private async fetch(domain: string): Promise<string> {
    const servername = `mta-sts.${domain}`;
    const addresses = await this.addressesOf(servername);
    if (!addresses.length) throw new Error(`${servername} has no address`);
    const ca = this.options.ca?.length ? [...rootCertificates, ...this.options.ca] : undefined;
    return new Promise<string>((resolve, reject) => {
      const req = request(
        {
          host: addresses[0],
          port: this.options.port,
          path: WELL_KNOWN,
          method: 'GET',
          servername,
          headers: { host: servername },
          ca,
          rejectUnauthorized: true,
          agent: false,
          timeout: this.options.timeoutMs,
        },
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            return reject(new Error(`https://${servername}${WELL_KNOWN} answered ${res.statusCode}`));
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_POLICY_BYTES) req.destroy(new Error(`the policy is over ${MAX_POLICY_BYTES} bytes`));
            else chunks.push(c);
          });
          res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`https://${servername}${WELL_KNOWN} timed out`)));
      req.on('error', reject);
      req.end();
    });
  }

  private async addressesOf(name: string): Promise<string[]> {
    for (const type of ['A', 'AAAA'] as const) {
      const r = type === 'A' ? await this.resolver.a(name) : await this.resolver.aaaa(name);
      if (r.kind === 'answer' && r.records.length) return r.records;
      if (r.kind === 'error') throw new Error(`${type} lookup for ${name} failed: ${r.failure}`);
    }
    return [];
  }
}

function live(policy: MtaStsPolicy | null, now: number): MtaStsPolicy | null {
  return policy && policy.expiresAt > now && policy.mode !== 'none' ? policy : null;
}

/**
 * Whether an MX host name matches one of a policy's patterns (RFC 8461 §4.1): exactly, or
 * `*.example.com` standing for one more leftmost label (not `example.com`, not `a.b.example.com`).
 */
export function mxMatchesPolicy(host: string, patterns: string[]): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return patterns.some((p) => {
    const pattern = p.toLowerCase().replace(/\.$/, '');
    if (!pattern.startsWith('*.')) return h === pattern;
    const rest = pattern.slice(1);
    return h.endsWith(rest) && h.length > rest.length && !h.slice(0, -rest.length).includes('.');
  });
}
