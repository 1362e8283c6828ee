/**
 * A private internet on loopback for trying `DELIVERY_MODE=mx` by hand (README, "Direct
 * delivery on one machine"): a recursive resolver, two authoritative nameservers and a
 * receiving MX that prints what it gets and whether its DKIM signature verifies.
 *
 * usage: npm run sandbox -- --sender example.com --recipient example.net [--port 5300]
 *        [--sink-port 2525] [--spf-include _spf.mailwarden.local] [--outbound-ip 127.0.0.1]
 *
 * - resolver 127.0.0.1:PORT, nameservers ns1/ns2 of every zone at 127.0.0.11 and 127.0.0.12
 *   on the same port (start the service with DNS_RESOLVERS=127.0.0.1:PORT, DNS_AUTH_PORT=PORT,
 *   DNS_ALLOW_PRIVATE=true, MX_PORT=SINK_PORT);
 * - each recipient zone has `MX 10 mx.<zone>` → 127.0.0.1, where the sink listens;
 * - the SPF include domain authorises the outbound IPs;
 * - with MAILWARDEN_URL and MAILWARDEN_API_KEY set, it plays a diligent domain owner: every
 *   2 s it publishes the records the API asks for (every domain of that account) on both
 *   nameservers. Without them, nothing is published and verification fails, as it should.
 * - publishing by hand (to try the hints of misplaced records), one command a line on stdin:
 *   `publish NAME TYPE DATA` on both nameservers, replacing what is there (TXT: a JSON array,
 *   one item per record, each a string or an array of strings; MX: `10 host`; else the value),
 *   and `remove NAME [TYPE]`.
 */
import { Resolver } from 'node:dns/promises';
import * as readline from 'node:readline';
import { parseArgs } from 'node:util';
import type { RecordType } from 'dns-packet';
import { dkimVerify } from 'mailauth/lib/dkim/verify';
import { SMTPServer } from 'smtp-server';
import { TestDnsServer } from '../test/support/dns-server';

interface PublishedRecord {
  name: string;
  type: string;
  strings?: string[];
  value: string;
}

async function main() {
  const { values } = parseArgs({
    options: {
      sender: { type: 'string', multiple: true, default: [] },
      recipient: { type: 'string', multiple: true, default: [] },
      port: { type: 'string', default: '5300' },
      'sink-port': { type: 'string', default: '2525' },
      'spf-include': { type: 'string', default: process.env.SPF_INCLUDE_DOMAIN ?? '_spf.mailwarden.local' },
      'outbound-ip': { type: 'string', multiple: true, default: ['127.0.0.1'] },
    },
  });
  const senders = values.sender.map((d) => d.toLowerCase());
  const recipients = values.recipient.map((d) => d.toLowerCase());
  if (senders.length === 0 && recipients.length === 0) {
    throw new Error('usage: sandbox --sender example.com --recipient example.net [--port 5300] [--sink-port 2525]');
  }
  const port = Number(values.port);
  const sinkPort = Number(values['sink-port']);
  const include = values['spf-include'].toLowerCase();
  const zones = [...senders, ...recipients, include];

  const resolver = await TestDnsServer.start({ host: '127.0.0.1', port, mode: 'resolver', zones });
  const ns1 = await TestDnsServer.start({ host: '127.0.0.11', port, zones });
  const ns2 = await TestDnsServer.start({ host: '127.0.0.12', port, zones });
  const servers = [resolver, ns1, ns2];
  const everywhere = (name: string, type: RecordType, data: unknown[]) => servers.forEach((s) => s.set(name, type, data));
  for (const s of servers) s.keepLog = false;
  for (const zone of zones) {
    resolver.set(zone, 'NS', [`ns1.${zone}`, `ns2.${zone}`]);
    resolver.set(`ns1.${zone}`, 'A', ['127.0.0.11']);
    resolver.set(`ns2.${zone}`, 'A', ['127.0.0.12']);
  }
  const ips = values['outbound-ip'];
  everywhere(include, 'TXT', [`v=spf1 ${ips.map((ip) => (ip.includes(':') ? `ip6:${ip}` : `ip4:${ip}`)).join(' ')} -all`]);
  for (const zone of recipients) {
    everywhere(zone, 'MX', [{ preference: 10, exchange: `mx.${zone}` }]);
    everywhere(`mx.${zone}`, 'A', ['127.0.0.1']);
  }

  const lookup = new Resolver();
  lookup.setServers([`127.0.0.1:${port}`]);
  const sink = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH'],
    logger: false,
    size: 10 * 1024 * 1024,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '<>';
        const to = session.envelope.rcptTo.map((r) => r.address).join(', ');
        const subject = /^Subject: (.*)$/im.exec(raw.toString('utf8', 0, Math.min(raw.length, 8192)))?.[1] ?? '';
        dkimVerify(raw, {
          resolver: async (name: string) => lookup.resolveTxt(name),
        })
          .then((v: { results: Array<{ signingDomain?: string; selector?: string; status: { result: string } }> }) => {
            const dkim = v.results.map((r) => `${r.status.result} (d=${r.signingDomain ?? '?'} s=${r.selector ?? '?'})`).join(', ') || 'none';
            log(`sink: ${raw.length} bytes from ${from} to ${to}, subject "${subject}", DKIM ${dkim}`);
          })
          .catch((err: Error) => log(`sink: DKIM check failed: ${err.message}`));
        callback(null, 'Ok: delivered to the sandbox');
      });
    },
  });
  await new Promise<void>((resolve) => sink.listen(sinkPort, '127.0.0.1', resolve));

  log(`DNS resolver 127.0.0.1:${port}; nameservers 127.0.0.11 and 127.0.0.12 on port ${port}`);
  log(`zones: ${zones.join(', ')}; MX of ${recipients.join(', ') || '(none)'} → 127.0.0.1:${sinkPort}`);
  log(`start the service with: DELIVERY_MODE=mx DNS_RESOLVERS=127.0.0.1:${port} DNS_AUTH_PORT=${port} DNS_ALLOW_PRIVATE=true MX_PORT=${sinkPort} OUTBOUND_IPS=${ips.join(',')}`);

  const url = process.env.MAILWARDEN_URL;
  const key = process.env.MAILWARDEN_API_KEY;
  if (url && key) {
    log(`publishing the records of every domain the API key sees at ${url}, every 2 s`);
    const published = new Map<string, string>();
    const follow = async () => {
      const get = async (path: string) => {
        const res = await fetch(new URL(path, url), { headers: { authorization: `Bearer ${key}` } });
        if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
        return res.json();
      };
      const list = (await get('/v1/domains?limit=100')) as { data?: Array<{ id: string }> };
      for (const { id } of list.data ?? []) {
        const domain = (await get(`/v1/domains/${id}`)) as { records?: PublishedRecord[] };
        for (const r of domain.records ?? []) {
          if (r.type !== 'TXT' && r.type !== 'MX') continue;
          const data = r.type === 'TXT' ? [r.strings ?? [r.value]] : [parseMx(r.value)];
          const fingerprint = JSON.stringify(data);
          const at = `${r.name}/${r.type}`;
          if (published.get(at) === fingerprint) continue;
          // The SPF record of a domain sits at the apex beside nothing else of ours.
          everywhere(r.name, r.type as RecordType, data);
          published.set(at, fingerprint);
          log(`published ${r.type} at ${r.name}`);
        }
      }
    };
    const tick = () => follow().catch((err: Error) => log(`follow: ${err.message}`)).finally(() => setTimeout(tick, 2000).unref());
    tick();
  } else {
    log('MAILWARDEN_URL and MAILWARDEN_API_KEY are not set: publishing nothing');
  }

  readline.createInterface({ input: process.stdin }).on('line', (line) => {
    try {
      log(command(line.trim(), everywhere, servers));
    } catch (err) {
      log(`stdin: ${(err as Error).message}`);
    }
  });

  const stop = () => {
    sink.close(() => undefined);
    for (const s of servers) void s.close();
    setTimeout(() => process.exit(0), 200).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/** One stdin command (see the header); returns what it did. */
function command(line: string, everywhere: (name: string, type: RecordType, data: unknown[]) => void, servers: TestDnsServer[]): string {
  const [verb, name, type, ...rest] = line.split(/\s+/);
  const data = rest.join(' ');
  if (verb === 'remove' && name) {
    // The resolver keeps the delegations (NS, glue) unless a type is named.
    for (const s of type ? servers : servers.slice(1)) s.remove(name, type?.toUpperCase() as RecordType | undefined);
    return `removed ${type ?? 'every record'} at ${name}`;
  }
  if (verb !== 'publish' || !name || !type || !data) throw new Error(`not understood: ${line} (publish NAME TYPE DATA | remove NAME [TYPE])`);
  const t = type.toUpperCase() as RecordType;
  const records = t === 'TXT' ? (JSON.parse(data) as unknown[]).map((r) => (Array.isArray(r) ? r : [r])) : [t === 'MX' ? parseMx(data) : data];
  everywhere(name, t, records);
  return `published ${t} at ${name}: ${JSON.stringify(records)}`;
}

function parseMx(value: string): { preference: number; exchange: string } {
  const [pref, host] = value.trim().split(/\s+/);
  return { preference: Number(pref), exchange: (host ?? '').replace(/\.$/, '') };
}

function log(line: string) {
  process.stdout.write(`[sandbox] ${line}\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`sandbox: ${err.message}\n`);
  process.exit(1);
});
