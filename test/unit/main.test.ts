import { main } from '../../src/main';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: { stdout: (s: string) => void out.push(s), stderr: (s: string) => void err.push(s), stopSignal: new Promise<string>(() => {}) },
  };
}

describe('mailwarden CLI', () => {
  it('exits 1 and lists every bad variable when the environment is invalid', async () => {
    const t = io();
    const code = await main(['api'], { NODE_ENV: 'production', PORT: 'x', LOG_LEVEL: 'loud', DNS_RESOLVERS: '127.0.0.1' }, t.io);
    expect(code).toBe(1);
    const text = t.err.join('');
    for (const name of ['PORT', 'LOG_LEVEL', 'MONGODB_URI', 'REDIS_URL', 'MASTER_KEY', 'ADMIN_API_KEY']) {
      expect(text).toContain(`${name}:`);
    }
  });

  it('fails on a bad variable in development before starting any store', async () => {
    const t = io();
    const code = await main(['api'], { NODE_ENV: 'development', SWEEP_INTERVAL_MS: 'often', DNS_RESOLVERS: '127.0.0.1' }, t.io);
    expect(code).toBe(1);
    expect(t.err.join('')).toContain('SWEEP_INTERVAL_MS:');
  });

  it('exits 2 with usage on an unknown role', async () => {
    const t = io();
    expect(await main(['mailer'], {}, t.io)).toBe(2);
    expect(t.err.join('')).toMatch(/usage: mailwarden <api\|worker\|relay\|bounce\|all>/);
  });
});
