/**
 * The load client of bench:relay when ../shared/bench/load.js is not beside the repo:
 * the same behaviour. COUNT messages of ~1 KiB over CONC pooled nodemailer sessions,
 * STARTTLS required (any certificate), AUTH when a user is given, all to
 * user@example.net from $FROM. Latency is per sendMail (over a pooled connection).
 * usage: node load-client.js HOST PORT COUNT CONC [user pass]
 * Last line: RESULT load msgs_per_s=… ok=… failed=… p50_ms=… p99_ms=…
 */
import { createTransport } from 'nodemailer';

async function main() {
  const [host, port, count, conc, user, pass] = process.argv.slice(2);
  const total = Number(count);
  const lanes = Number(conc);
  if (!host || !Number.isInteger(Number(port)) || !(total > 0) || !(lanes > 0)) {
    throw new Error('usage: node load-client.js HOST PORT COUNT CONC [user pass]');
  }
  const transport = createTransport({
    host,
    port: Number(port),
    secure: false,
    requireTLS: true,
    pool: true,
    maxConnections: lanes,
    maxMessages: Infinity,
    tls: { rejectUnauthorized: false },
    auth: user ? { user, pass } : undefined,
  });
  const body = 'x'.repeat(900) + '\n';
  const from = process.env.FROM || 'app@relay.test';
  const latencies: number[] = [];
  let ok = 0;
  let failed = 0;
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < total) {
        const i = next++;
        const t = process.hrtime.bigint();
        try {
          await transport.sendMail({ from, to: 'user@example.net', subject: `load ${i}`, text: body });
          ok++;
        } catch (err) {
          failed++;
          if (failed < 3) console.error((err as Error).message);
        }
        latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
    }),
  );
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  latencies.sort((a, b) => a - b);
  const p50 = latencies[latencies.length >> 1];
  const p99 = latencies[Math.floor(latencies.length * 0.99)];
  console.log(`RESULT load msgs_per_s=${(ok / secs).toFixed(1)} ok=${ok} failed=${failed} p50_ms=${p50.toFixed(1)} p99_ms=${p99.toFixed(1)}`);
  transport.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
