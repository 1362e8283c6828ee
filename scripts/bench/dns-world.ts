/**
 * The DNS side of bench:dns and bench:relay, run as a separate process: a resolver and
 * two authoritative nameservers (127.0.0.11 and 127.0.0.12, one port) serving N zones,
 * each with SPF and DKIM published, plus any extra zones (delegated, empty until
 * published into). Prints `READY {json}` when it answers.
 * usage: node dns-world.js COUNT DKIM_P INCLUDE [EXTRA_ZONE,...]
 * Over IPC, `{type:'publish', id, name, rrtype, data}` replaces the records of name/rrtype
 * on all three servers (an empty data removes them) and answers `{type:'published', id}`.
 */
import type { RecordType } from 'dns-packet';
import { splitTxt } from '../../src/verification/records';
import { TestDnsServer } from '../../test/support/dns-server';

export interface PublishRequest {
  type: 'publish';
  id: number;
  name: string;
  rrtype: RecordType;
  data: unknown[];
}

async function main() {
  const count = Number(process.argv[2] ?? 10000);
  const p = process.argv[3] ?? 'MIIB';
  const include = process.argv[4] ?? '_spf.mailwarden.bench';
  const extra = (process.argv[5] ?? '').split(',').filter(Boolean);
  const zones = Array.from({ length: count }, (_, i) => `d${i}.bench`);
  const all = [...zones, ...extra, 'mailwarden.bench'];
  const resolver = await TestDnsServer.start({ host: '127.0.0.1', mode: 'resolver', zones: all });
  const ns1 = await TestDnsServer.start({ host: '127.0.0.11', zones: all });
  const ns2 = await TestDnsServer.start({ host: '127.0.0.12', port: ns1.port, zones: all });
  for (const s of [resolver, ns1, ns2]) {
    s.keepLog = false;
    for (const z of zones) {
      s.txt(z, `v=spf1 include:${include} ~all`);
      s.txt(`sel._domainkey.${z}`, splitTxt(`v=DKIM1; k=rsa; p=${p}`));
    }
    s.txt(include, 'v=spf1 ip4:192.0.2.0/24 -all');
  }
  for (const z of [...zones, ...extra]) {
    resolver.set(z, 'NS', [`ns1.${z}`, `ns2.${z}`]);
    resolver.set(`ns1.${z}`, 'A', ['127.0.0.11']);
    resolver.set(`ns2.${z}`, 'A', ['127.0.0.12']);
  }
  process.on('message', (msg: PublishRequest) => {
    if (msg?.type !== 'publish') return;
    for (const s of [resolver, ns1, ns2]) s.set(msg.name, msg.rrtype, msg.data);
    process.send?.({ type: 'published', id: msg.id });
  });
  process.stdout.write(`READY ${JSON.stringify({ resolverPort: resolver.port, authPort: ns1.port })}\n`);
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
