import { randomInt } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { connect } from 'node:net';
import { isIPv6 } from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket, type RecordType } from 'dns-packet';
import { Semaphore } from './semaphore';

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
  /** Queries in flight at once. */
  maxConcurrent?: number;
  /** UDP sockets per address family; each query picks one at random. */
  socketPool?: number;
}

const UDP_PAYLOAD = 1232;

interface Pending {
  server: DnsServer;
  name: string;
  type: RecordType;
  resolve: (p: DecodedPacket | null) => void;
}

/** Lowercased, without a trailing dot: names compare this way. */
export const canonicalName = (n: string) => n.replace(/\.$/, '').toLowerCase();

/**
 * The project's only socket-level DNS code: dns-packet over node:dgram (EDNS0, random
 * ids checked with the question echo) with TCP fallback on truncation.
 */
export class DnsClient {
  private readonly limiter: Semaphore;
  private readonly retries: number;
  private readonly pools: Record<'udp4' | 'udp6', Socket[]> = { udp4: [], udp6: [] };
  private readonly pending = new Map<string, Pending>();
  private closed = false;
  /** Queries sent (UDP attempts and TCP fallbacks), for metrics and benchmarks. */
  queriesSent = 0;

  constructor(private readonly options: DnsClientOptions) {
    this.limiter = new Semaphore(options.maxConcurrent ?? 256);
    this.retries = options.retries ?? 1;
  }

  /** Asks `server` for `name`/`type`; never throws. */
  query(name: string, type: RecordType, server: DnsServer, opts: QueryOptions): Promise<DnsOutcome> {
    return this.limiter.run(() => this.exchange(canonicalName(name), type, server, opts));
  }

  private async exchange(name: string, type: RecordType, server: DnsServer, opts: QueryOptions): Promise<DnsOutcome> {
    if (this.closed) return { kind: 'network-error', detail: 'client closed' };
    let packet: DecodedPacket | null = null;
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

  private socket(family: 'udp4' | 'udp6'): Socket {
    const pool = this.pools[family];
    const size = this.options.socketPool ?? 8;
    if (pool.length < size) {
      const s = createSocket(family);
      s.on('message', (msg, rinfo) => this.onMessage(msg, rinfo.address, rinfo.port));
      s.on('error', () => {
        // A broken socket leaves the pool; its queries time out and are retried on another.
        const i = pool.indexOf(s);
        if (i >= 0) pool.splice(i, 1);
        s.close();
      });
      s.unref();
      pool.push(s);
      return s;
    }
    return pool[randomInt(pool.length)];
  }

  private onMessage(msg: Buffer, host: string, port: number): void {
    if (msg.length < 12) return;
    const key = `${normaliseHost(host)}|${port}|${msg.readUInt16BE(0)}`;
    const p = this.pending.get(key);
    if (!p) return;
    let packet: DecodedPacket;
    try {
      packet = dnsPacket.decode(msg);
    } catch {
      return; // garbage from the right address: keep waiting for the real answer
    }
    if (!echoes(packet, p.name, p.type)) return;
    this.pending.delete(key);
    p.resolve(packet);
  }

  private udp(name: string, type: RecordType, server: DnsServer, opts: QueryOptions, edns: boolean): Promise<DecodedPacket | null> {
    const host = normaliseHost(server.host);
    let id: number;
    let key: string;
    do {
      id = randomInt(0x10000);
      key = `${host}|${server.port}|${id}`;
    } while (this.pending.has(key));
    const buf = encodeQuery(id, name, type, opts, edns);
    this.queriesSent++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(key);
        resolve(null);
      }, this.options.timeoutMs);
      this.pending.set(key, {
        server,
        name,
        type,
        resolve: (p) => {
          clearTimeout(timer);
          resolve(p);
        },
      });
      this.socket(isIPv6(host) ? 'udp6' : 'udp4').send(buf, server.port, host, (err) => {
        if (err) {
          clearTimeout(timer);
          this.pending.delete(key);
          reject(err);
        }
      });
    });
  }

  private tcp(name: string, type: RecordType, server: DnsServer, opts: QueryOptions): Promise<DecodedPacket | null> {
    const id = randomInt(0x10000);
    const query = encodeQuery(id, name, type, opts, true);
    this.queriesSent++;
    return new Promise((resolve, reject) => {
      const socket = connect({ host: server.host, port: server.port });
      let buf = Buffer.alloc(0);
      let done = false;
      const finish = (err: Error | null, p: DecodedPacket | null) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.destroy();
        if (err) reject(err);
        else resolve(p);
      };
      const timer = setTimeout(() => finish(null, null), this.options.timeoutMs);
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
          if (p.id !== id || !echoes(p, name, type)) return finish(new Error('TCP answer does not match the question'), null);
          finish(null, p);
        } catch (err) {
          finish(new Error(`undecodable TCP answer: ${(err as Error).message}`), null);
        }
      });
      socket.on('error', (err) => finish(err, null));
      socket.on('close', () => finish(new Error('connection closed before an answer'), null));
    });
  }

  /** Closes the sockets; queries in flight end as timeouts. */
  close(): void {
    this.closed = true;
    for (const s of [...this.pools.udp4, ...this.pools.udp6]) s.close();
    this.pools.udp4 = [];
    this.pools.udp6 = [];
    for (const p of this.pending.values()) p.resolve(null);
    this.pending.clear();
  }
}

function normaliseHost(host: string): string {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h.startsWith('::ffff:') && h.includes('.') ? h.slice(7) : h;
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

/** A reply must echo our question exactly (RFC 5452 §9.1), or it is not ours. */
function echoes(p: DecodedPacket, name: string, type: RecordType): boolean {
  const q = p.questions?.[0];
  return Boolean(p.flag_qr !== false && q && q.type === type && canonicalName(q.name) === name && (q.class ?? 'IN') === 'IN');
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
