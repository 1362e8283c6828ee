import { readFileSync } from 'node:fs';
import type { Clock } from '../clock';
import type { Config } from '../config';
import type { CheckResolver } from '../dns/resolver';
import type { Logger } from '../logger';
import { DestinationBackoff } from './destination-backoff';
import { MtaStsPolicies, mxMatchesPolicy } from './mta-sts-policies';
import { MxConnectionPool } from './mx-connection-pool';
import { callbackResolve, MxRoutes, type MxHost } from './mx-routes';
import { MxConnectError, openMxConnection, type MxConnection, type MxSessionOptions, type TlsPolicy } from './mx-session';
import { sameForAll, transact, type OutgoingMessage, type RecipientResult } from './mx-transaction';

export type { RecipientResult, RecipientOutcome } from './mx-transaction';
export type { SmtpReply } from './smtp-reply';

/** One message for direct delivery; its recipients may span several domains. */
export interface MxDelivery {
  /** Envelope sender (MAIL FROM); empty for a null sender. */
  from: string;
  recipients: string[];
  /** The finished (signed) message. */
  raw: Buffer;
  /** Correlates logs; sent as the DSN ENVID where the server supports DSN (RFC 3461). */
  envelopeId?: string;
}

export interface MxTransportOptions {
  /** MX_PORT. */
  port: number;
  /** MX_MAX_CONNECTIONS_PER_DOMAIN: sessions open at once to one destination. */
  maxConnectionsPerDestination: number;
  /** Our name in EHLO (RELAY_HOSTNAME). */
  ehloName: string;
  /** An idle pooled session is closed after this long (default 5 s). */
  idleTimeoutMs?: number;
  connectTimeoutMs?: number;
  greetingTimeoutMs?: number;
  socketTimeoutMs?: number;
  /** How long MX answers and a confirmed MTA-STS policy id are reused (default 30 s). */
  dnsCacheMs?: number;
  localAddress?: string;
  ignoreIPv6?: boolean;
  /**
   * MX_DESTINATION_BACKOFF_MS: after a session-level temporary failure a destination rests this
   * long before any message tries it again, doubling per failure in a row (default 0: off).
   */
  destinationBackoffMs?: number;
  /** Refuse MX targets on loopback/private addresses (default false: tests deliver to 127.0.0.x). */
  blockLocalAddresses?: boolean;
  mtaSts?: {
    /** Default true. */
    enabled?: boolean;
    /** Policy host port (MTA_STS_PORT, 443). */
    port?: number;
    /** Extra trusted CAs (PEM) for policy hosts and for MX certificates under `enforce`. */
    ca?: string[];
    timeoutMs?: number;
  };
}

type Lease = { key: string; conn: MxConnection };

/**
 * DELIVERY_MODE=mx: delivers each message straight to its recipients' MX hosts (DESIGN §2
 * step 6). Per recipient domain: the MX hosts through DNS_RESOLVERS (RFC 5321 §5.1 fallback
 * to A/AAAA, RFC 7505 null MX), the MTA-STS policy (RFC 8461, `enforce` honoured), then one
 * transaction over a pooled session to that destination. Sessions are shared by every
 * message to the same MX hosts, at most `maxConnectionsPerDestination` at once.
 */
export class MxTransport {
  private readonly routes: MxRoutes;
  private readonly policies: MtaStsPolicies | null;
  private readonly pool: MxConnectionPool<MxConnection>;
  private readonly session: MxSessionOptions;
  private readonly backoff: DestinationBackoff;
  private closed = false;
  /** Failed connection attempts so far, and the last one per destination key. */
  private failureCount = 0;
  private readonly failures = new Map<string, { seq: number; error: MxConnectError }>();

  constructor(
    resolver: CheckResolver,
    options: MxTransportOptions,
    clock: Clock,
    private readonly logger: Logger,
  ) {
    const cacheMs = options.dnsCacheMs ?? 30_000;
    this.routes = new MxRoutes(resolver, clock, { cacheMs, ignoreIPv6: options.ignoreIPv6 });
    const sts = options.mtaSts ?? {};
    this.policies =
      sts.enabled === false
        ? null
        : new MtaStsPolicies(resolver, { port: sts.port ?? 443, ca: sts.ca, timeoutMs: sts.timeoutMs ?? 10_000, recheckMs: cacheMs }, clock, logger);
    this.backoff = new DestinationBackoff(options.destinationBackoffMs ?? 0, clock);
    this.pool = new MxConnectionPool({ maxPerKey: options.maxConnectionsPerDestination, idleTimeoutMs: options.idleTimeoutMs ?? 5000 });
    this.session = {
      port: options.port,
      ehloName: options.ehloName,
      connectTimeoutMs: options.connectTimeoutMs ?? 30_000,
      greetingTimeoutMs: options.greetingTimeoutMs ?? 30_000,
      socketTimeoutMs: options.socketTimeoutMs ?? 120_000,
      localAddress: options.localAddress,
      ignoreIPv6: options.ignoreIPv6 ?? false,
      blockLocalAddresses: options.blockLocalAddresses ?? false,
      ca: sts.ca,
      resolve: callbackResolve(resolver),
    };
  }

  /**
   * Delivers `msg` to every recipient, one transaction per recipient domain (in parallel), and
   * returns one result per recipient, in the order given. Never throws for what a remote
   * server, DNS or the network did: those become `deferred` or `bounced` results.
   */
  async deliver(msg: MxDelivery): Promise<RecipientResult[]> {
    if (this.closed) throw new Error('the MX transport is closed');
    const byDomain = new Map<string, string[]>();
    const invalid: RecipientResult[] = [];
    for (const address of new Set(msg.recipients)) {
      const at = address.lastIndexOf('@');
      if (at <= 0 || at === address.length - 1 || /[\r\n<>\s]/.test(address)) {
        invalid.push(...sameForAll([address], 'bounced', `${JSON.stringify(address)} is not a deliverable address`));
        continue;
      }
      const domain = address.slice(at + 1).toLowerCase();
      byDomain.set(domain, [...(byDomain.get(domain) ?? []), address]);
    }
    const out = { from: msg.from, raw: msg.raw, envelopeId: msg.envelopeId };
    const groups = await Promise.all([...byDomain].map(([domain, rcpts]) => this.toDomain(domain, rcpts, out)));
    const found = new Map([...invalid, ...groups.flat()].map((r) => [r.address, r]));
    return msg.recipients.map((a) => found.get(a)!);
  }

  /** Closes every pooled session (QUIT); sessions in use close when their message is done. */
  async close(): Promise<void> {
    this.closed = true;
    this.pool.close();
  }

  private async toDomain(domain: string, rcpts: string[], msg: OutgoingMessage): Promise<RecipientResult[]> {
    const results = await this.route(domain, rcpts, msg).catch((err: unknown) =>
      // Our own bug or an unexpected library failure: the mail waits rather than bounces.
      sameForAll(rcpts, 'deferred', `delivery to ${domain} failed: ${(err as Error).message}`),
    );
    const count = (o: string) => results.filter((r) => r.outcome === o).length;
    this.logger.info(
      { queueId: msg.envelopeId, domain, remoteHost: results[0]?.remoteHost ?? null, delivered: count('delivered'), deferred: count('deferred'), bounced: count('bounced') },
      'mx delivery',
    );
    return results;
  }

  private async route(domain: string, rcpts: string[], msg: OutgoingMessage): Promise<RecipientResult[]> {
    const route = await this.routes.resolve(domain);
    if (route.kind === 'null-mx') return sameForAll(rcpts, 'bounced', `${domain} accepts no mail: it publishes a null MX (RFC 7505, 5.1.10)`);
    if (route.kind === 'no-host') return sameForAll(rcpts, 'bounced', `no mail host for ${domain}: ${route.detail}`);
    if (route.kind === 'temporary') return sameForAll(rcpts, 'deferred', route.detail);

    let hosts = route.hosts;
    let tls: TlsPolicy = 'opportunistic';
    const policy = this.policies ? await this.policies.policyFor(domain) : null;
    if (policy) {
      const matching = hosts.filter((h) => mxMatchesPolicy(h.exchange, policy.mx));
      if (policy.mode === 'enforce') {
        if (!matching.length) {
          const names = hosts.map((h) => h.exchange).join(', ');
          return sameForAll(rcpts, 'deferred', `MTA-STS policy of ${domain} (enforce, id ${policy.id}) allows MX ${policy.mx.join(', ')}; none of ${names} matches`);
        }
        hosts = matching;
        tls = 'verify';
      } else if (matching.length < hosts.length) {
        this.logger.warn({ domain, id: policy.id, mode: policy.mode }, 'MTA-STS testing policy: some MX hosts do not match');
      }
    }
    return this.send(domain, hosts, tls, rcpts, msg);
  }

  private async send(domain: string, hosts: MxHost[], tls: TlsPolicy, rcpts: string[], msg: OutgoingMessage): Promise<RecipientResult[]> {
    const key = destinationKey(hosts, tls);
    const resting = this.backoff.restingNow(key);
    if (resting) {
      const reason = `the MX hosts of ${domain} failed ${resting.failures} time${resting.failures === 1 ? '' : 's'} in a row; no new attempt before ${resting.until.toISOString()}: ${resting.reason}`;
      return sameForAll(rcpts, 'deferred', reason, resting.reply, resting.remoteHost);
    }
    let lease: Lease;
    try {
      lease = await this.lease(domain, key, hosts, tls);
    } catch (err) {
      if (!(err instanceof MxConnectError)) throw err;
      const how = tls === 'verify' ? ' (MTA-STS enforce: verified TLS required)' : '';
      const reason = `no MX host of ${domain} took a session${how}: ${err.message}`;
      this.backoff.failed(key, { reason, reply: err.reply, remoteHost: err.remoteHost });
      return sameForAll(rcpts, 'deferred', reason, err.reply, err.remoteHost);
    }
    let reusable = false;
    try {
      const done = await transact(lease.conn, msg, rcpts);
      reusable = done.reusable;
      // 421: the server is closing the session on us (RFC 5321 §3.8), a verdict on the destination.
      const closing = done.results.find((r) => r.outcome === 'deferred' && r.reply?.code === 421);
      if (closing) this.backoff.failed(key, { reason: closing.reason, reply: closing.reply, remoteHost: closing.remoteHost });
      else this.backoff.succeeded(key);
      return done.results;
    } finally {
      this.pool.release(lease.key, lease.conn, reusable);
    }
  }

  /** A pooled session to the destination (RSET first), or a new one. */
  private async lease(domain: string, key: string, hosts: MxHost[], tls: TlsPolicy): Promise<Lease> {
    const since = this.failureCount;
    const open = async () => {
      // Messages that were already waiting when an attempt to this destination failed share
      // its failure, instead of each waiting out every MX host's time outs in turn.
      const failed = this.failures.get(key);
      if (failed && failed.seq > since) throw failed.error;
      try {
        const conn = await openMxConnection(domain, hosts, tls, this.session);
        this.failures.delete(key);
        return conn;
      } catch (err) {
        if (err instanceof MxConnectError) {
          // Only a sharing optimisation: forgetting is always safe.
          if (this.failures.size >= 10_000) this.failures.clear();
          this.failures.set(key, { seq: ++this.failureCount, error: err });
        }
        throw err;
      }
    };
    for (;;) {
      const { conn, reused } = await this.pool.acquire(key, open);
      if (!reused) return { key, conn };
      try {
        await conn.reset();
        return { key, conn };
      } catch {
        // The server dropped the idle session; the next turn takes another or opens one.
        this.pool.release(key, conn, false);
      }
    }
  }
}

/** The destination is the MX host set: domains that share MX hosts share sessions and rests. */
function destinationKey(hosts: MxHost[], tls: TlsPolicy): string {
  return `${tls}|${hosts.map((h) => `${h.priority}:${h.exchange}`).sort().join(',')}`;
}

/** The transport as DELIVERY_MODE=mx configures it. */
export function createMxTransport(config: Config, resolver: CheckResolver, clock: Clock, logger: Logger): MxTransport {
  const caFile = config.delivery.mx.mtaStsCaFile;
  return new MxTransport(
    resolver,
    {
      port: config.delivery.mx.port,
      maxConnectionsPerDestination: config.delivery.mx.maxConnectionsPerDomain,
      destinationBackoffMs: config.delivery.mx.destinationBackoffMs,
      ehloName: config.smtp.hostname,
      mtaSts: { port: config.delivery.mx.mtaStsPort, ca: caFile ? [readFileSync(caFile, 'utf8')] : undefined },
    },
    clock,
    logger,
  );
}
