import { randomFillSync, randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect, isIPv6 } from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket, type RecordType } from 'dns-packet';
import ipaddr from 'ipaddr.js';
import { Semaphore } from './semaphore';
import type { DnsMetrics } from '../http/metrics';

/** A DNS server to ask. */
export interface DnsServer {
  host: string;
  port: number;
}

export interface QueryOptions {
  /** RD bit: on for resolvers, off for authoritative servers. */
  recursionDesired: boolean;
  /** When set, an answer without the AA bit is `lame`: the server should serve this zone. */
  expectAuthoritative?: boolean;
  /**
   * `udp` (default): UDP with EDNS0, falling back to TCP on truncation. `tcp`: TCP only,
   * which an off-path attacker cannot answer for, to confirm an answer that changes state.
   */
  transport?: 'udp' | 'tcp';
}

/** The typed outcome of one query (DESIGN §4: a timeout is never a missing record). */
export type DnsOutcome =
  | { kind: 'answer'; records: Answer[]; packet: DecodedPacket }
  | { kind: 'nxdomain'; packet: DecodedPacket }
  | { kind: 'nodata'; packet: DecodedPacket }
  | { kind: 'servfail' }
  | { kind: 'refused' }
  | { kind: 'timeout' }
  | { kind: 'lame' }
  | { kind: 'network-error'; detail: string };

export interface DnsClientOptions {
  timeoutMs: number;
  /** Further UDP attempts after a timeout. */
  retries?: number;
  /** Queries in flight at once (and so UDP sockets open at once). */
  maxConcurrent?: number;
  /** Counts each query's outcome (mailwarden_dns_queries_total). */
  metrics?: DnsMetrics;
}

const UDP_PAYLOAD = 1232;

/** Lowercased, without a trailing dot: names compare this way. */
export const canonicalName = (n: string) => n.replace(/\.$/, '').toLowerCase();

// Cryptographic random bytes, drawn from a pool: one randomFillSync per many queries, not per query.
const pool = Buffer.alloc(4096);
let poolAt = pool.length;
function randomBits(n: number): Buffer {
  if (poolAt + n > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  poolAt += n;
  return pool.subarray(poolAt - n, poolAt);
}

/**
 * DNS 0x20 (draft-vixie-dnsext-dns0x20): flips the case of each letter at random. Servers
 * echo the question as sent, so a forged answer must also guess these bits.
 */
export function randomiseCase(name: string): string {
  const bits = randomBits(Math.ceil(name.length / 8) || 1);
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const c = name[i];
    out += c >= 'a' && c <= 'z' && (bits[i >> 3] >> (i & 7)) & 1 ? c.toUpperCase() : c;
  }
  return out;
}

/**
 * The project's only socket-level DNS code: dns-packet over node:dgram (EDNS0) with TCP
 * fallback on truncation. Each UDP attempt has a socket of its own on a port the kernel
 * picks at random, a random id and a 0x20-cased question, and only an answer that echoes
 * all three, from the server asked, is taken (RFC 5452).
 */
export class DnsClient {
  private readonly limiter: Semaphore;
  private readonly retries: number;
  /** Ends each exchange in flight (as a timeout) when the client closes. */
  private readonly inFlight = new Set<() => void>();
  private closed = false;
  /** Queries sent (UDP attempts and TCP queries), for metrics and benchmarks. */
  queriesSent = 0;

  constructor(private readonly options: DnsClientOptions) {
    this.limiter = new Semaphore(options.maxConcurrent ?? 256);
    this.retries = options.retries ?? 1;
  }

  /** Asks `server` for `name`/`type`; never throws. */
  query(name: string, type: RecordType, server: DnsServer, opts: QueryOptions): Promise<DnsOutcome> {
    const outcome = this.limiter.run(() => this.exchange(canonicalName(name), type, server, opts));
    const metrics = this.options.metrics;
    if (!metrics) return outcome;
    return outcome.then((o) => {
      metrics.dnsQueries.inc({ outcome: o.kind });
      return o;
    });
  }

  private async exchange(name: string, type: RecordType, server: DnsServer, opts: QueryOptions): Promise<DnsOutcome> {
    if (this.closed) return { kind: 'network-error', detail: 'client closed' };
    let packet: DecodedPacket | null = null;
    if (opts.transport === 'tcp') {
      try {
        packet = await this.tcp(name, type, server, opts);
      } catch (err) {
        return { kind: 'network-error', detail: `TCP: ${(err as Error).message}` };
      }
      return packet ? classify(packet, name, type, opts) : { kind: 'timeout' };
    }
    let edns = true;
    for (let attempt = 0; attempt <= this.retries && !packet; attempt++) {
      try {
        packet = await this.udp(name, type, server, opts, edns);
      } catch (err) {
        return { kind: 'network-error', detail: (err as Error).message };
      }
      // RFC 6891 §7: a server that does not speak EDNS answers FORMERR; ask again without OPT.
      if (packet && rcodeOf(packet) === 'FORMERR' && edns) {
        edns = false;
        packet = null;
        attempt--;
      }
    }
    if (!packet) return { kind: 'timeout' };
    if (packet.flag_tc) {
      try {
        packet = await this.tcp(name, type, server, opts);
      } catch (err) {
        return { kind: 'network-error', detail: `TCP fallback: ${(err as Error).message}` };
      }
      if (!packet) return { kind: 'timeout' };
    }
    return classify(packet, name, type, opts);
  }

  /**
   * Runs one exchange with a deadline: `start` gets `finish`, which settles the promise
   * once; the timeout and close() settle it with null.
   */
  private exchangeOnce(start: (finish: (err: Error | null, p: DecodedPacket | null) => void) => () => void): Promise<DecodedPacket | null> {
    return new Promise((resolve, reject) => {
      let done = false;
      let cleanup = () => {};
      const finish = (err: Error | null, p: DecodedPacket | null) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.inFlight.delete(abort);
        cleanup();
        if (err) reject(err);
        else resolve(p);
      };
      const abort = () => finish(null, null);
      const timer = setTimeout(abort, this.options.timeoutMs);
      this.inFlight.add(abort);
      cleanup = start(finish);
      if (done) cleanup();
    });
  }

  private udp(name: string, type: RecordType, server: DnsServer, opts: QueryOptions, edns: boolean): Promise<DecodedPacket | null> {
    const host = normaliseHost(server.host);
    const id = randomInt(0x10000);
    const wire = randomiseCase(name);
    const query = encodeQuery(id, wire, type, opts, edns);
    this.queriesSent++;
    return this.exchangeOnce((finish) => {
      // A socket per attempt, never shared: a fresh random source port each time, closed after.
      const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
      let closed = false;
      socket.on('message', (msg, rinfo) => {
        if (rinfo.port !== server.port || (rinfo.address !== host && normaliseHost(rinfo.address) !== host)) return;
        if (msg.length < 12 || msg.readUInt16BE(0) !== id) return;
        let packet: DecodedPacket;
        try {
          packet = dnsPacket.decode(msg);
        } catch {
          return; // garbage from the right address: keep waiting for the real answer
        }
        // A wrong question (or the right one in the wrong case) is a spoof, like a wrong id.
        if (echoes(packet, wire, type)) finish(null, packet);
      });
      socket.on('error', (err) => finish(err, null));
      socket.bind(0, () => {
        if (closed) return;
        socket.send(query, server.port, host, (err) => {
          if (err) finish(err, null);
        });
      });
      return () => {
        closed = true;
        try {
          socket.close();
        } catch {
          // already closed by an error
        }
      };
    });
  }

  private tcp(name: string, type: RecordType, server: DnsServer, opts: QueryOptions): Promise<DecodedPacket | null> {
    const id = randomInt(0x10000);
    const wire = randomiseCase(name);
    const query = encodeQuery(id, wire, type, opts, true);
    this.queriesSent++;
    return this.exchangeOnce((finish) => {
      const socket = connect({ host: server.host, port: server.port });
      let buf = Buffer.alloc(0);
      socket.on('connect', () => {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(query.length);
        socket.write(Buffer.concat([len, query]));
      });
      socket.on('data', (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length < 2) return;
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) return;
        try {
          const p = dnsPacket.decode(buf.subarray(2, 2 + len));
          if (p.id !== id || !echoes(p, wire, type)) return finish(new Error('TCP answer does not match the question'), null);
          finish(null, p);
        } catch (err) {
          finish(new Error(`undecodable TCP answer: ${(err as Error).message}`), null);
        }
      });
      socket.on('error', (err) => finish(err, null));
      socket.on('close', () => finish(new Error('connection closed before an answer'), null));
      return () => socket.destroy();
    });
  }

  /** Ends every query in flight as a timeout and refuses new ones. */
  close(): void {
    this.closed = true;
    for (const abort of [...this.inFlight]) abort();
  }
}

/** One spelling per address, so an answer's source compares with the server asked. */
function normaliseHost(host: string): string {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  try {
    return ipaddr.process(h).toString();
  } catch {
    return h;
  }
}

function rcodeOf(p: DecodedPacket): string {
  return (p as DecodedPacket & { rcode?: string }).rcode ?? 'NOERROR';
}

function encodeQuery(id: number, name: string, type: RecordType, opts: QueryOptions, edns: boolean): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: opts.recursionDesired ? dnsPacket.RECURSION_DESIRED : 0,
    questions: [{ type, name, class: 'IN' }],
    additionals: edns ? [{ type: 'OPT', name: '.', udpPayloadSize: UDP_PAYLOAD, flags: 0 } as unknown as Answer] : [],
  });
}

/**
 * A reply must echo our question exactly (RFC 5452 §9.1), or it is not ours. The name is
 * compared case-sensitively: its 0x20 casing is part of what a forger must guess.
 */
function echoes(p: DecodedPacket, wire: string, type: RecordType): boolean {
  const q = p.questions?.[0];
  return Boolean(p.flag_qr !== false && q && q.type === type && q.name.replace(/\.$/, '') === wire && (q.class ?? 'IN') === 'IN');
}

function classify(p: DecodedPacket, name: string, type: RecordType, opts: QueryOptions): DnsOutcome {
  const rcode = rcodeOf(p);
  if (rcode === 'SERVFAIL') return { kind: 'servfail' };
  if (rcode === 'REFUSED') return { kind: 'refused' };
  if (rcode !== 'NOERROR' && rcode !== 'NXDOMAIN') return { kind: 'network-error', detail: `rcode ${rcode}` };
  if (opts.expectAuthoritative && !p.flag_aa) return { kind: 'lame' };
  if (rcode === 'NXDOMAIN') return { kind: 'nxdomain', packet: p };
  const records = answersFor(p.answers ?? [], name, type);
  return records.length ? { kind: 'answer', records, packet: p } : { kind: 'nodata', packet: p };
}

/** Records of `type` owned by `name`, following a CNAME chain inside the answer section. */
export function answersFor(answers: Answer[], name: string, type: RecordType): Answer[] {
  let owner = name;
  for (let hops = 0; hops < 8; hops++) {
    const direct = answers.filter((a) => a.type === type && canonicalName(a.name) === owner);
    if (direct.length) return direct;
    const cname = answers.find((a) => a.type === 'CNAME' && canonicalName(a.name) === owner);
    if (!cname || type === 'CNAME') return [];
    owner = canonicalName((cname as { data: string }).data);
  }
  return [];
}

/** The CNAME target `name` points at when the answer stops there, if any. */
export function danglingCname(answers: Answer[], name: string): string | null {
  let owner = name;
  let target: string | null = null;
  for (let hops = 0; hops < 8; hops++) {
    const cname = answers.find((a) => a.type === 'CNAME' && canonicalName(a.name) === owner);
    if (!cname) break;
    target = owner = canonicalName((cname as { data: string }).data);
  }
  return target;
}
