/**
 * The DNS side of bench:dns, run as a separate process: a resolver and two
 * authoritative nameservers (127.0.0.11 and 127.0.0.12, one port) serving N zones,
 * each with SPF and DKIM published. Prints `READY {json}` when it answers.
 */
import { splitTxt } from '../../src/verification/records';
import { TestDnsServer } from '../../test/support/dns-server';

async function main() {
  const count = Number(process.argv[2] ?? 10000);
  const p = process.argv[3] ?? 'MIIB';
  const include = process.argv[4] ?? '_spf.mailwarden.bench';
  const zones = Array.from({ length: count }, (_, i) => `d${i}.bench`);
  const resolver = await TestDnsServer.start({ host: '127.0.0.1', mode: 'resolver', zones: [...zones, 'mailwarden.bench'] });
  const ns1 = await TestDnsServer.start({ host: '127.0.0.11', zones: [...zones, 'mailwarden.bench'] });
  const ns2 = await TestDnsServer.start({ host: '127.0.0.12', port: ns1.port, zones: [...zones, 'mailwarden.bench'] });
  for (const s of [resolver, ns1, ns2]) {
    s.keepLog = false;
    for (const z of zones) {
      s.txt(z, `v=spf1 include:${include} ~all`);
      s.txt(`sel._domainkey.${z}`, splitTxt(`v=DKIM1; k=rsa; p=${p}`));
    }
    s.txt(include, 'v=spf1 ip4:192.0.2.0/24 -all');
  }
  for (const z of zones) {
    resolver.set(z, 'NS', [`ns1.${z}`, `ns2.${z}`]);
    resolver.set(`ns1.${z}`, 'A', ['127.0.0.11']);
    resolver.set(`ns2.${z}`, 'A', ['127.0.0.12']);
  }
  process.stdout.write(`READY ${JSON.stringify({ resolverPort: resolver.port, authPort: ns1.port })}\n`);
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
