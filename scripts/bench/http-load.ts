/**
 * The load side of bench:api, run as a child process of its own: CONC keep-alive clients
 * send COUNT GET requests to URL (with the Authorization header AUTH, optional) and wait
 * for each answer. Prints `RESULT http-load req_per_s=… p50_ms=… p99_ms=… ok=… failed=…`.
 * usage: node http-load.js URL COUNT CONC [AUTH]
 */
import http from 'node:http';

function get(agent: http.Agent, url: URL, auth: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers: auth ? { Authorization: auth } : {} }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
}

async function main() {
  const [target, count, conc, auth] = process.argv.slice(2);
  const url = new URL(target);
  const total = Number(count);
  const agent = new http.Agent({ keepAlive: true, maxSockets: Number(conc) });
  const latencies: number[] = [];
  let next = 0;
  let ok = 0;
  let failed = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: Number(conc) }, async () => {
      while (next < total) {
        next++;
        const t = process.hrtime.bigint();
        const status = await get(agent, url, auth).catch(() => 0);
        latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
        if (status === 200) ok++;
        else failed++;
      }
    }),
  );
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))].toFixed(2);
  agent.destroy();
  process.stdout.write(`RESULT http-load req_per_s=${(ok / secs).toFixed(1)} p50_ms=${at(0.5)} p99_ms=${at(0.99)} ok=${ok} failed=${failed}\n`);
}

void main();
