import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { healthcheck, roleOfProcess } from '../../scripts/healthcheck';
import { CONFIG_VARIABLES, loadConfig, type Config } from '../../src/config';
import { createTestContainer, type TestContainer } from '../support/services';

/**
 * The production deployment (issue 13 item 1): docker-compose.yml as Debian's
 * docker-compose reads it, the Dockerfile, and the per-role health check the image runs.
 * There is no Docker engine here; `docker-compose config` parses, interpolates and
 * validates the file. .ci/run installs docker-compose when it is missing.
 */

const root = join(__dirname, '..', '..');
const ROLES = ['api', 'worker', 'relay', 'bounce'] as const;

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string | null>;
  healthcheck?: { test: string[] };
  volumes?: string[];
  ports?: Array<{ published: number | string; target: number }>;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
}

const secrets = { MASTER_KEY: randomBytes(32).toString('base64'), ADMIN_API_KEY: randomBytes(33).toString('base64') };

/** `docker-compose -f docker-compose.yml config`, parsed; fails loudly when docker-compose is missing. */
async function composeConfig(): Promise<ComposeFile> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...secrets };
  try {
    const { stdout } = await promisify(execFile)('docker-compose', ['-f', 'docker-compose.yml', 'config'], { cwd: root, env });
    return parse(stdout) as ComposeFile;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') {
      throw new Error('docker-compose is not installed: `apt-get install docker-compose` (.ci/run installs it when missing)');
    }
    throw new Error(`docker-compose config failed: ${e.stderr ?? e.message}`);
  }
}

describe('docker-compose.yml', () => {
  let compose: ComposeFile;
  beforeAll(async () => {
    compose = await composeConfig();
  });

  it('runs mongo as a single-node replica set that initiates itself in its health check', () => {
    const mongo = compose.services.mongo;
    expect(mongo.command).toEqual(expect.arrayContaining(['--replSet', 'rs0']));
    expect(mongo.healthcheck?.test.join(' ')).toMatch(/rs\.initiate\(\{ _id: 'rs0', members: \[\{ _id: 0, host: 'mongo:27017' \}\] \}\)/);
    expect(mongo.volumes?.some((v) => v.startsWith('mongo-data:/data/db'))).toBe(true);
  });

  it('runs redis with the append-only file on a named volume', () => {
    const redis = compose.services.redis;
    expect(redis.command?.join(' ')).toMatch(/--appendonly yes/);
    expect(redis.command?.join(' ')).toMatch(/--maxmemory-policy noeviction/);
    expect(redis.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
    expect(redis.volumes?.some((v) => v.startsWith('redis-data:/data'))).toBe(true);
    expect(Object.keys(compose.volumes)).toEqual(expect.arrayContaining(['mongo-data', 'redis-data']));
  });

  it.each(ROLES)('runs the %s role from the one image, with its own health check and the TLS files', (role) => {
    const s = compose.services[role];
    expect(s.image).toBe('mailwarden:latest');
    expect(s.command).toEqual([role]);
    expect(s.healthcheck?.test).toEqual(['CMD', 'node', 'dist/scripts/healthcheck.js', role]);
    expect(s.volumes).toContain(`${join(root, 'tls')}:/etc/mailwarden/tls:ro`);
    expect(s.environment?.TLS_CERT_FILE).toBe('/etc/mailwarden/tls/cert.pem');
    expect(s.environment?.MONGODB_URI).toMatch(/[?&]replicaSet=rs0\b/);
  });

  it('publishes the relay on 587 and 465 and the bounce intake on 25', () => {
    const published = (s: string) => compose.services[s].ports?.map((p) => `${p.published}:${p.target}`);
    expect(published('relay')).toEqual(['587:2587', '465:2465']);
    expect(published('bounce')).toEqual(['25:2525']);
    expect(published('api')).toEqual(['8080:8080']);
  });

  it('sets only variables that src/config.ts knows, and values it accepts in production', () => {
    for (const role of ROLES) {
      const env = compose.services[role].environment ?? {};
      const unknown = Object.keys(env).filter((name) => !CONFIG_VARIABLES.includes(name));
      expect({ role, unknown }).toEqual({ role, unknown: [] });
      const asStrings = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v ?? '']));
      const config = loadConfig(asStrings, () => 'nameserver 192.0.2.53\n');
      expect(config.production).toBe(true);
      expect(config.smtp).toMatchObject({ port: 2587, smtpsPort: 2465 });
      expect(config.returnPath.bouncePort).toBe(2525);
      expect(config.queuePrefix).toBe('{mw}');
    }
  });
});

describe('Dockerfile', () => {
  const text = readFileSync(join(root, 'Dockerfile'), 'utf8');

  it('builds in stages on Node 20 and ships production dependencies only, as a non-root user', () => {
    expect(text.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(3);
    expect(text).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    expect(text).toMatch(/npm ci --omit=dev/);
    expect(text).toMatch(/^USER node$/m);
    expect(text).toMatch(/^HEALTHCHECK .*CMD \["node", "dist\/scripts\/healthcheck\.js"\]$/m);
    expect(text).toMatch(/^ENTRYPOINT \["node", "dist\/src\/main\.js"\]$/m);
  });

  it('leaves node_modules, data and the tests out of the build context', () => {
    const ignore = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n');
    expect(ignore).toEqual(expect.arrayContaining(['node_modules', 'dist', 'data', 'test/*', '!test/support/dns-server.ts']));
  });
});

describe('the image health check', () => {
  it('reads the role from the command line of PID 1', () => {
    expect(roleOfProcess('node\0dist/src/main.js\0worker\0')).toBe('worker');
    expect(roleOfProcess('node\0dist/src/main.js\0')).toBe('all');
    expect(roleOfProcess('/bin/sh\0-c\0sleep 1\0')).toBeNull();
  });

  describe('against running roles', () => {
    let c: TestContainer;
    const running: Array<{ close(): Promise<void> }> = [];
    const at = (patch: (cfg: Config) => Config) => patch(c.config);
    beforeAll(async () => {
      c = await createTestContainer({ HOST: '127.0.0.1', PORT: '0', METRICS_PORT: '0', SMTP_HOST: '127.0.0.1', SMTP_PORT: '0' });
    });
    afterAll(async () => {
      for (const r of running.reverse()) await r.close();
      await c?.dispose();
    });

    it('passes for api, worker and relay, and fails for a port nothing listens on', async () => {
      const api = await c.start('api');
      running.push(api);
      const worker = await c.start('worker', { workers: { dnsConcurrency: 1 } });
      running.push(worker);
      const relay = await c.start('relay');
      running.push(relay);
      await healthcheck('api', at((cfg) => ({ ...cfg, http: { ...cfg.http, port: api.port } })));
      await healthcheck('worker', at((cfg) => ({ ...cfg, http: { ...cfg.http, metricsPort: worker.metricsPort } })));
      await healthcheck('relay', at((cfg) => ({ ...cfg, smtp: { ...cfg.smtp, port: relay.port } })));

      await relay.close();
      running.pop();
      await expect(healthcheck('relay', at((cfg) => ({ ...cfg, smtp: { ...cfg.smtp, port: relay.port } })))).rejects.toThrow(/ECONNREFUSED/);
      await expect(healthcheck('worker', at((cfg) => ({ ...cfg, http: { ...cfg.http, metricsPort: undefined } })))).rejects.toThrow(/METRICS_PORT/);
    });
  });
});
