import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket, type RecordType } from 'dns-packet';

/**
 * An in-process DNS server on dns-packet, over UDP and TCP, for tests and benchmarks.
 * `authoritative` mode answers for its zones with AA set (and REFUSED elsewhere);
 * `resolver` mode plays a recursive resolver over the same data (RA set, no AA).
 * Zones are mutable; faults are injected per instance. Names match case-insensitively,
 * and the question is echoed in the case it came in, as real servers do (DNS 0x20).
 */

export interface TestRecord {
  name: string;
  type: RecordType;
  /** TXT: string or string[] (one record's strings); MX: {preference, exchange}; SOA: object; others: string. */
  data: unknown;
  ttl?: number;
}

export interface Faults {
  /** Never answer (the client times out). */
  drop?: boolean;
  servfail?: boolean;
  refused?: boolean;
  /** Answer UDP with TC set and no records, so the client must retry over TCP. */
  truncate?: boolean;
  /** Answer without the AA bit (a lame delegation). */
  noAuthoritative?: boolean;
  /** Delay every answer by this many ms. */
  delayMs?: number;
  /**
   * Before each UDP answer, send a forged one to the same port with the same id and a TXT
   * record `forged`, whose question has every letter in the opposite case to the query's:
   * an off-path spoofer who guessed the port and id but not the 0x20 casing.
   */
  forgeWrongCase?: boolean;
  /** Over TCP, answer as if the zone had no records at the name (NODATA), while UDP still has them. */
  hideOverTcp?: boolean;
}

export interface DnsServerOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  mode?: 'authoritative' | 'resolver';
  /** Zone apexes this server is authoritative for (authoritative mode). */
  zones?: string[];
}

const canon = (n: string) => n.replace(/\.$/, '').toLowerCase();

export class TestDnsServer {
  readonly host: string;
  port = 0;
  faults: Faults = {};
  /** Queries received, for assertions (name/type/rd). */
  readonly log: Array<{ name: string; type: string; rd: boolean; transport: 'udp' | 'tcp' }> = [];
  /** The same queries as they came: the question name in its case, and the client's source port. */
  readonly wire: Array<{ name: string; port: number; transport: 'udp' | 'tcp' }> = [];
  private readonly records = new Map<string, TestRecord[]>();
  private readonly ancestors = new Set<string>();
  private readonly mode: 'authoritative' | 'resolver';
  private readonly zones: Set<string>;
  private udp?: Socket;
  private tcp?: Server;
  private readonly tcpClients = new Set<TcpSocket>();
  keepLog = true;

  constructor(options: DnsServerOptions = {}) {
    this.host = options.host ?? '127.0.0.1';
    this.mode = options.mode ?? 'authoritative';
    this.zones = new Set((options.zones ?? []).map(canon));
    this.port = options.port ?? 0;
  }

  /** Starts UDP and TCP on the same port (retrying on a clash when the port is chosen here). */
  static async start(options: DnsServerOptions = {}): Promise<TestDnsServer> {
    const s = new TestDnsServer(options);
    await s.listen();
    return s;
  }

  get address(): { host: string; port: number } {
    return { host: this.host, port: this.port };
  }

  addZone(apex: string): void {
    this.zones.add(canon(apex));
  }

  /** Replaces the records of `name`/`type`. An empty list removes them. */
  set(name: string, type: RecordType, data: unknown[], ttl = 300): void {
    const key = canon(name);
    if (type === 'TXT') {
      for (const d of data) {
        for (const str of Array.isArray(d) ? d : [d]) {
          if (Buffer.byteLength(String(str)) > 255) throw new Error(`TXT strings are at most 255 bytes; split "${String(str).slice(0, 30)}…"`);
        }
      }
    }
    const others = (this.records.get(key) ?? []).filter((r) => r.type !== type);
    const next = [...others, ...data.map((d) => ({ name: key, type, data: d, ttl }))];
    if (next.length) {
      this.records.set(key, next);
      for (let n = key, dot = n.indexOf('.'); dot >= 0; dot = n.indexOf('.')) {
        n = n.slice(dot + 1);
        this.ancestors.add(n);
      }
    }
    else this.records.delete(key);
  }

  remove(name: string, type?: RecordType): void {
    const key = canon(name);
    if (!type) return void this.records.delete(key);
    this.set(name, type, []);
  }

  /** Publishes a TXT record given as one string or as its list of strings. */
  txt(name: string, ...values: Array<string | string[]>): void {
    this.set(name, 'TXT', values);
  }

  private async listen(): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const port = this.port || 20000 + Math.floor(Math.random() * 40000);
      try {
        await this.bind(port);
        this.port = port;
        return;
      } catch (err) {
        await this.close();
        if (this.port) throw err;
      }
    }
    throw new Error('no free port for the test DNS server');
  }

  private bind(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const udp = createSocket(this.host.includes(':') ? 'udp6' : 'udp4');
      this.udp = udp;
      udp.on('message', (msg, rinfo) => this.handle(msg, 'udp', rinfo.port, (out) => udp.send(out, rinfo.port, rinfo.address)));
      udp.once('error', reject);
      udp.bind(port, this.host, () => {
        const tcp = createServer((sock) => this.serveTcp(sock));
        this.tcp = tcp;
        tcp.once('error', reject);
        tcp.listen(port, this.host, () => resolve());
      });
    });
  }

  private serveTcp(sock: TcpSocket): void {
    this.tcpClients.add(sock);
    sock.on('close', () => this.tcpClients.delete(sock));
    sock.on('error', () => sock.destroy());
    let buf = Buffer.alloc(0);
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        this.handle(msg, 'tcp', sock.remotePort ?? 0, (out) => {
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(out.length);
          if (!sock.destroyed) sock.write(Buffer.concat([prefix, out]));
        });
      }
    });
  }

  private handle(msg: Buffer, transport: 'udp' | 'tcp', port: number, send: (b: Buffer) => void): void {
    let q: DecodedPacket;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      return;
    }
    const question = q.questions?.[0];
    if (!question) return;
    if (this.keepLog) {
      this.log.push({ name: canon(question.name), type: question.type, rd: q.flag_rd, transport });
      this.wire.push({ name: question.name, port, transport });
    }
    const f = this.faults;
    if (f.drop) return;
    const reply = () => {
      if (transport === 'udp' && f.forgeWrongCase) send(this.forgery(q, question));
      send(this.answer(q, question.name, question.type, transport));
    };
    if (f.delayMs) setTimeout(reply, f.delayMs);
    else reply();
  }

  private forgery(q: DecodedPacket, question: { name: string; type: RecordType }): Buffer {
    const swapped = [...question.name].map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase())).join('');
    return dnsPacket.encode({
      type: 'response',
      id: q.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER,
      questions: [{ ...question, name: swapped }],
      answers: [{ name: swapped, type: 'TXT', ttl: 300, class: 'IN', data: ['forged'] } as Answer],
    });
  }

  /** The closest enclosing zone this server has, walking up the labels. */
  private zoneOf(name: string): string | undefined {
    for (let n = name; ; ) {
      if (this.zones.has(n)) return n;
      const dot = n.indexOf('.');
      if (dot < 0) return undefined;
      n = n.slice(dot + 1);
    }
  }

  private answer(q: DecodedPacket, rawName: string, type: RecordType, transport: 'udp' | 'tcp'): Buffer {
    const name = canon(rawName);
    const f = this.faults;
    const base = {
      type: 'response' as const,
      id: q.id,
      questions: q.questions,
      additionals: (q.additionals ?? []).some((a) => a.type === 'OPT')
        ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0 } as unknown as Answer]
        : [],
    };
    let flags = (q.flag_rd ? dnsPacket.RECURSION_DESIRED : 0) | (this.mode === 'resolver' ? dnsPacket.RECURSION_AVAILABLE : 0);
    const rcode = (code: number) => dnsPacket.encode({ ...base, flags: flags | code });
    if (f.servfail) return rcode(2);
    if (f.refused) return rcode(5);
    const zone = this.mode === 'authoritative' ? this.zoneOf(name) : this.zoneOf(name) ?? '';
    if (zone === undefined) return rcode(5);
    if (this.mode === 'authoritative' && !f.noAuthoritative) flags |= dnsPacket.AUTHORITATIVE_ANSWER;
    if (transport === 'udp' && f.truncate) return dnsPacket.encode({ ...base, flags: flags | dnsPacket.TRUNCATED_RESPONSE });

    const answers: Answer[] = [];
    let owner = name;
    const hidden = transport === 'tcp' && f.hideOverTcp;
    for (let hops = 0; hops < 8 && !hidden; hops++) {
      const rrs = this.records.get(owner) ?? [];
      const direct = rrs.filter((r) => r.type === type);
      if (direct.length) {
        answers.push(...direct.map((r) => toAnswer(r)));
        break;
      }
      const cname = rrs.find((r) => r.type === 'CNAME');
      if (!cname || type === 'CNAME') break;
      answers.push(toAnswer(cname));
      owner = canon(String(cname.data));
      // An authoritative server only chases a CNAME inside its own zones.
      if (this.mode === 'authoritative' && this.zoneOf(owner) === undefined) break;
    }
    const soa = this.soaFor(zone);
    if (answers.length) {
      const glue = type === 'NS' ? this.glueFor(answers) : [];
      const full = dnsPacket.encode({ ...base, flags, answers, additionals: [...base.additionals, ...glue] });
      // Like a real server: a UDP answer larger than the client's buffer is truncated (RFC 6891 §7).
      const limit = udpLimit(q);
      if (transport === 'udp' && full.length > limit) return dnsPacket.encode({ ...base, flags: flags | dnsPacket.TRUNCATED_RESPONSE });
      return full;
    }
    const exists = this.records.has(name) || name === zone || this.hasDescendant(name);
    const authorities = soa ? [soa] : [];
    return dnsPacket.encode({ ...base, flags: flags | (exists ? 0 : 3), answers: [], authorities });
  }

  /** Empty non-terminals: a name with records below it exists (NODATA, not NXDOMAIN). */
  private hasDescendant(name: string): boolean {
    return this.ancestors.has(name);
  }

  private soaFor(zone: string): Answer | null {
    const rec = (this.records.get(zone) ?? []).find((r) => r.type === 'SOA');
    const data = (rec?.data as object | undefined) ?? {
      mname: `ns1.${zone || 'root'}`,
      rname: `hostmaster.${zone || 'root'}`,
      serial: 1,
      refresh: 3600,
      retry: 600,
      expiration: 86400,
      minimum: 60,
    };
    return zone ? ({ name: zone, type: 'SOA', ttl: 60, data } as Answer) : null;
  }

  private glueFor(nsAnswers: Answer[]): Answer[] {
    const glue: Answer[] = [];
    for (const ns of nsAnswers) {
      const host = canon(String((ns as { data: unknown }).data));
      for (const r of this.records.get(host) ?? []) if (r.type === 'A' || r.type === 'AAAA') glue.push(toAnswer(r));
    }
    return glue;
  }

  async close(): Promise<void> {
    for (const c of this.tcpClients) c.destroy();
    await Promise.all([
      new Promise<void>((r) => (this.udp ? this.udp.close(() => r()) : r())),
      new Promise<void>((r) => (this.tcp?.listening ? this.tcp.close(() => r()) : r())),
    ]).catch(() => {});
    this.udp = undefined;
    this.tcp = undefined;
  }
}

function udpLimit(q: DecodedPacket): number {
  const opt = (q.additionals ?? []).find((a) => a.type === 'OPT') as { udpPayloadSize?: number } | undefined;
  return Math.max(512, opt?.udpPayloadSize ?? 512);
}

function toAnswer(r: TestRecord): Answer {
  const data = r.type === 'TXT' ? (Array.isArray(r.data) ? r.data : [r.data]) : r.data;
  return { name: r.name, type: r.type, ttl: r.ttl ?? 300, class: 'IN', data } as Answer;
}
