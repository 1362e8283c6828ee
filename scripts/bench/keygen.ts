/**
 * npm run bench:keygen — DKIM key generation and registration throughput.
 * RSA-2048 through node-forge is timed against node:crypto's own generateKeyPairSync
 * in the same run (interleaved, so drift hits both alike).
 */
import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { generateDkimKeyPair } from '../../src/keys/dkim-keys';
import { benchContainer, median, percentile, result, round, runBench, runConcurrent, timeMs } from './lib';

const RSA_SAMPLES = Number(process.env.BENCH_RSA_SAMPLES ?? 60);
const ED_SAMPLES = 300;
const REGISTRATIONS = Number(process.env.BENCH_REGISTRATIONS ?? 60);

async function main() {
  const forgeRsa: number[] = [];
  const nativeRsa: number[] = [];
  for (let i = 0; i < RSA_SAMPLES; i++) {
    // Alternate which goes first so that neither always runs on a warmer machine.
    const forge = async () => forgeRsa.push(await timeMs(() => generateDkimKeyPair('rsa-2048')));
    const native = async () => nativeRsa.push(await timeMs(() => generateKeyPairSync('rsa', { modulusLength: 2048 })));
    if (i % 2) await forge().then(native);
    else await native().then(forge);
  }
  const ed: number[] = [];
  for (let i = 0; i < ED_SAMPLES; i++) ed.push(await timeMs(() => generateDkimKeyPair('ed25519')));

  console.log(`rsa-2048 (node-forge)   median ${round(median(forgeRsa))} ms  p99 ${round(percentile(forgeRsa, 99))} ms  (n=${RSA_SAMPLES})`);
  console.log(`rsa-2048 (node:crypto)  median ${round(median(nativeRsa))} ms  p99 ${round(percentile(nativeRsa, 99))} ms  (baseline)`);
  console.log(`ratio forge/native      ${round(median(forgeRsa) / median(nativeRsa))}  (target <= 1.25)`);
  console.log(`ed25519 (node-forge)    median ${round(median(ed), 3)} ms  p99 ${round(percentile(ed, 99), 3)} ms  (target median <= 10 ms)`);

  // The registration figure measures key generation and the insert, not the per-key API budget.
  const { c: container, dispose } = await benchContainer('keygen', { API_RATE_PER_SECOND: '1000000', API_RATE_BURST: '1000000' });
  const config = container.config;
  const server = container.http.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const acct = await fetch(`${base}/v1/accounts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${config.adminApiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench' }),
    }).then((r) => r.json() as Promise<{ apiKey: string }>);
    const register = (algorithm: string) => async (i: number) => {
      const res = await fetch(`${base}/v1/domains`, {
        method: 'POST',
        headers: { authorization: `Bearer ${acct.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ domain: `d${i}-${algorithm}.bench.example`, dkim: { algorithm } }),
      });
      if (res.status !== 201) throw new Error(`POST /v1/domains answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    };
    const rsaMs = await runConcurrent(REGISTRATIONS, 8, register('rsa-2048'));
    const edMs = await runConcurrent(REGISTRATIONS * 5, 8, register('ed25519'));
    const rsaPerS = (REGISTRATIONS / rsaMs) * 1000;
    const edPerS = ((REGISTRATIONS * 5) / edMs) * 1000;
    console.log(`POST /v1/domains        ${round(rsaPerS)} req/s with rsa-2048 (default), ${round(edPerS)} req/s with ed25519 (8 concurrent, real HTTP)`);
    result('keygen', {
      rsa2048_median_ms: round(median(forgeRsa)),
      rsa2048_p99_ms: round(percentile(forgeRsa, 99)),
      rsa2048_native_median_ms: round(median(nativeRsa)),
      ed25519_median_ms: round(median(ed), 3),
      register_per_s: round(rsaPerS),
      register_ed25519_per_s: round(edPerS),
    });
  } finally {
    await new Promise((r) => server.close(r));
    await dispose();
  }
}

runBench(main);
