/**
 * npm run bench:allowlist — the relay's connect-time allowlist check at scale.
 *
 * Builds the relay's AllowlistCache for 100,000 domains × 10 random CIDRs (IPv4 and
 * IPv6, 1,000,000 in all), then times the connect-time check (`anyAllows`, as
 * onConnect asks it) for random addresses, hits and misses, one check at a time. The
 * cache is driven in process: its loaders hand it generated lists instead of reading
 * MongoDB, so the figures are the cache's own. Next to it, in the same run, the
 * previous implementation (a linear scan that parsed every CIDR per check) on 100
 * domains, since on 100,000 it takes about a second per check.
 */
import ipaddr from 'ipaddr.js';
import { AllowlistCache } from '../../src/relay/allowlist-cache';
import { percentile, result, round, runBench } from './lib';

const DOMAINS = Number(process.env.BENCH_ALLOWLIST_DOMAINS ?? 100_000);
const PER_DOMAIN = 10;
const CHECKS = Number(process.env.BENCH_ALLOWLIST_CHECKS ?? 200_000);
const BASELINE_DOMAINS = 100;
const BASELINE_CHECKS = 100;

/** mulberry32: the same random lists every run. */
function seeded(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = seeded(20240601);
const int = (n: number) => Math.floor(rand() * n);
const u32 = () => int(0x100000000);

const v4Text = (w: number) => `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
const v6Text = (ws: number[]) => ws.flatMap((w) => [(w >>> 16).toString(16), (w & 0xffff).toString(16)]).join(':');
const maskWord = (w: number, keep: number) => (keep <= 0 ? 0 : keep >= 32 ? w : (w & (~0 << (32 - keep))) >>> 0);
const mask = (ws: number[], prefix: number) => ws.map((w, i) => maskWord(w, prefix - i * 32));

interface Net {
  v6: boolean;
  words: number[];
  prefix: number;
}

/** A random network: IPv4 /20../32 anywhere, IPv6 /32../128 in 2000::/3 (global unicast). */
function randomNet(): Net {
  if (rand() < 0.5) {
    const prefix = 20 + int(13);
    return { v6: false, words: mask([u32()], prefix), prefix };
  }
  const prefix = 32 + int(97);
  return { v6: true, words: mask([(0x20000000 | int(0x20000000)) >>> 0, u32(), u32(), u32()], prefix), prefix };
}
const netText = (n: Net) => `${n.v6 ? v6Text(n.words) : v4Text(n.words[0])}/${n.prefix}`;

/** An address inside `n` (IPv4 one time in four as IPv4-mapped IPv6, as dual-stack sockets report it). */
function addressIn(n: Net): string {
  const words = n.words.map((w, i) => (w | (maskWord(u32(), 32) & ~maskWord(0xffffffff, n.prefix - i * 32))) >>> 0);
  if (n.v6) return v6Text(words);
  return rand() < 0.25 ? `::ffff:${v4Text(words[0])}` : v4Text(words[0]);
}
const randomAddress = () => (rand() < 0.5 ? v4Text(u32()) : v6Text([(0x20000000 | int(0x20000000)) >>> 0, u32(), u32(), u32()]));

/** Times `fn` once per input, in microseconds. */
function timeEach<T>(inputs: T[], fn: (x: T) => unknown): number[] {
  const out = new Array<number>(inputs.length);
  for (let i = 0; i < inputs.length; i++) {
    const t = process.hrtime.bigint();
    fn(inputs[i]);
    out[i] = Number(process.hrtime.bigint() - t) / 1000;
  }
  return out;
}

/** The connect-time check before this cache: every CIDR of every domain parsed per check. */
function linearAnyAllows(lists: string[][], ip: string): boolean {
  let client: ipaddr.IPv4 | ipaddr.IPv6 = ipaddr.parse(ip);
  if (client.kind() === 'ipv6' && (client as ipaddr.IPv6).isIPv4MappedAddress()) client = (client as ipaddr.IPv6).toIPv4Address();
  for (const cidrs of lists) {
    for (const entry of cidrs) {
      if (!ipaddr.isValidCIDR(entry)) continue;
      const range = ipaddr.parseCIDR(entry);
      if (range[0].kind() === client.kind() && client.match(range)) return true;
    }
  }
  return false;
}

const gc = (globalThis as { gc?: () => void }).gc;
const mb = (bytes: number) => round(bytes / 1024 / 1024, 1);
const us = (n: number) => round(n, 2);

async function main() {
  gc?.();
  const before = process.memoryUsage();

  const nets: Net[] = [];
  let lists: Array<{ domainId: string; cidrs: string[] }> | null = Array.from({ length: DOMAINS }, (_, d) => {
    const cidrs: string[] = [];
    for (let k = 0; k < PER_DOMAIN; k++) {
      const n = randomNet();
      if (nets.length < 20_000) nets.push(n);
      cidrs.push(netText(n));
    }
    return { domainId: `dom_${d.toString(36).padStart(8, '0')}`, cidrs };
  });
  const baselineLists = lists.slice(0, BASELINE_DOMAINS).map((l) => l.cidrs);
  const lookup = new Map<string, string[]>();
  const cache = new AllowlistCache(
    async () => lists ?? [],
    async (id) => lookup.get(id) ?? null,
  );

  const buildStart = process.hrtime.bigint();
  await cache.refresh();
  const buildS = Number(process.hrtime.bigint() - buildStart) / 1e9;
  const stats = cache.stats;
  const sampleDomains = lists.slice(0, 1000).map((l) => l.domainId);
  lists = null;
  gc?.();
  const after = process.memoryUsage();

  // Hits: an address inside a generated network; misses: random addresses (nearly all outside).
  const hits = Array.from({ length: CHECKS / 2 }, () => addressIn(nets[int(nets.length)]));
  const randoms = Array.from({ length: CHECKS / 2 }, randomAddress);
  const mixed = [...hits, ...randoms].sort(() => rand() - 0.5);
  timeEach(mixed.slice(0, 20_000), (ip) => cache.anyAllows(ip)); // warm up
  let allowed = 0;
  const connect = timeEach(mixed, (ip) => cache.anyAllows(ip) && allowed++);
  const hitTimes = timeEach(hits.slice(0, 20_000), (ip) => cache.anyAllows(ip));
  const missTimes = timeEach(randoms.slice(0, 20_000), (ip) => cache.anyAllows(ip));
  if (!hits.slice(0, 1000).every((ip) => cache.anyAllows(ip))) throw new Error('an address inside a cached network was not allowed');

  // AUTH: one domain's own list.
  const authInputs = Array.from({ length: 50_000 }, () => [sampleDomains[int(sampleDomains.length)], rand() < 0.5 ? hits[int(hits.length)] : randomAddress()]);
  const auth = timeEach(authInputs, ([d, ip]) => cache.domainAllows(d, ip));

  // An invalidation: one domain's 10 networks replaced by 10 others (the load itself is in memory).
  const reloadMs: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const id = sampleDomains[i];
    lookup.set(id, Array.from({ length: PER_DOMAIN }, () => netText(randomNet())));
    const t = process.hrtime.bigint();
    await cache.reload(id);
    reloadMs.push(Number(process.hrtime.bigint() - t) / 1e6);
  }

  // The previous linear scan, on 100 domains (1,000 CIDRs).
  const baselineInputs = mixed.slice(0, BASELINE_CHECKS);
  const baseline = timeEach(baselineInputs, (ip) => linearAnyAllows(baselineLists, ip));

  const p = (s: number[], q: number) => us(percentile(s, q));
  console.log(`allowlist cache, driven in process (generated lists, no database): ${DOMAINS} domains × ${PER_DOMAIN} CIDRs`);
  console.log(`  build (parse + insert, one full refresh)  ${round(buildS, 2)} s`);
  console.log(`  distinct networks                         ${stats.v4} IPv4, ${stats.v6} IPv6 in ${stats.domains} domains`);
  console.log(`  heap used by the cache                    ${mb(after.heapUsed - before.heapUsed)} MiB heap + ${mb(after.arrayBuffers - before.arrayBuffers)} MiB typed arrays (trie nodes ${mb(stats.trieBytes)} MiB); rss ${mb(after.rss)} MiB${gc ? '' : ' (run with --expose-gc for exact figures)'}`);
  console.log(`  connect check (anyAllows)                 p50 ${p(connect, 50)} µs  p99 ${p(connect, 99)} µs  max ${p(connect, 100)} µs  (n=${connect.length}, ${allowed} allowed; target p99 < 50 µs)`);
  console.log(`    hits only                               p50 ${p(hitTimes, 50)} µs  p99 ${p(hitTimes, 99)} µs`);
  console.log(`    random addresses (misses)               p50 ${p(missTimes, 50)} µs  p99 ${p(missTimes, 99)} µs`);
  console.log(`  AUTH check (domainAllows)                 p50 ${p(auth, 50)} µs  p99 ${p(auth, 99)} µs`);
  console.log(`  reload of one domain (10 networks)        p50 ${round(percentile(reloadMs, 50), 3)} ms  p99 ${round(percentile(reloadMs, 99), 3)} ms`);
  console.log(
    `  baseline: previous linear scan, ${BASELINE_DOMAINS} domains  p50 ${p(baseline, 50)} µs  p99 ${p(baseline, 99)} µs  (grows with the CIDR count; ×${round(DOMAINS / BASELINE_DOMAINS)} at ${DOMAINS} domains)`,
  );
  console.log(`  ratio baseline p50 (at ${BASELINE_DOMAINS} domains) / cache p50 (at ${DOMAINS})  ${round(percentile(baseline, 50) / percentile(connect, 50))}`);
  result('allowlist', {
    domains: DOMAINS,
    cidrs: DOMAINS * PER_DOMAIN,
    connect_check_p99_us: p(connect, 99),
    connect_check_p50_us: p(connect, 50),
    auth_check_p99_us: p(auth, 99),
    reload_p99_ms: round(percentile(reloadMs, 99), 3),
    build_s: round(buildS, 2),
    heap_mb: mb(after.heapUsed - before.heapUsed),
    typed_arrays_mb: mb(after.arrayBuffers - before.arrayBuffers),
    baseline_linear_100_domains_p50_us: p(baseline, 50),
  });
}

runBench(main);
