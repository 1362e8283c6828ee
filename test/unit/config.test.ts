import { ConfigError, loadConfig } from '../../src/config';

const good = {
  MONGODB_URI: 'mongodb://127.0.0.1:27017/mw',
  REDIS_URL: 'redis://127.0.0.1:6379',
  MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
  ADMIN_API_KEY: 'k'.repeat(32),
  DNS_RESOLVERS: '127.0.0.1',
};
const tlsFiles = { TLS_CERT_FILE: '/tls/cert.pem', TLS_KEY_FILE: '/tls/key.pem' };
const noResolvConf = () => {
  throw new Error('ENOENT');
};

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env, noResolvConf);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies the DESIGN §7 defaults', () => {
    const c = loadConfig(good, noResolvConf);
    expect(c.http.port).toBe(8080);
    expect(c.smtp.port).toBe(2587);
    expect(c.dns.authPort).toBe(53);
    expect(c.verification.propagationWindowMs).toBe(72 * 3600_000);
    expect(c.verification.propagationScheduleMs).toEqual([60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000]);
    expect(c.verification.recheckIntervalMs).toBe(3600_000);
    expect(c.verification.approvalMode).toBe('manual');
    expect(c.delivery.mode).toBe('capture');
    expect(c.webhooks.allowPrivate).toBe(false);
    expect(c.queuePrefix).toBe('{mw}');
    expect(c.masterKey).toHaveLength(32);
  });

  it('configures the return path: bounce port (25 in production), MX host (RELAY_HOSTNAME by default), VERP secret (from MASTER_KEY unless given)', () => {
    const dev = loadConfig({ ...good, RELAY_HOSTNAME: 'Relay.Example.com' }, noResolvConf);
    const prod = loadConfig({ ...good, ...tlsFiles, NODE_ENV: 'production' }, noResolvConf);
    expect([dev.returnPath.bouncePort, prod.returnPath.bouncePort]).toEqual([2525, 25]);
    expect(dev.returnPath.mxHost).toBe('relay.example.com');
    expect(loadConfig({ ...good, RETURN_PATH_MX_HOST: 'mx.mailwarden.example' }, noResolvConf).returnPath.mxHost).toBe('mx.mailwarden.example');
    // Derived from MASTER_KEY: stable across processes, never the key itself.
    expect(dev.returnPath.verpSecret.equals(prod.returnPath.verpSecret)).toBe(true);
    expect(dev.returnPath.verpSecret.equals(dev.masterKey)).toBe(false);
    const given = loadConfig({ ...good, VERP_SECRET: 's'.repeat(32) }, noResolvConf);
    expect(given.returnPath.verpSecret.toString()).toBe('s'.repeat(32));
    expect(problemsOf({ ...good, VERP_SECRET: 'short', RETURN_PATH_MX_HOST: 'not a host', BOUNCE_SMTP_PORT: '70000' })).toEqual([
      'BOUNCE_SMTP_PORT: Too big: expected number to be <=65535',
      'RETURN_PATH_MX_HOST: must be a host name',
      'VERP_SECRET: must be at least 32 characters (openssl rand -base64 32)',
    ]);
  });

  it('queries private nameserver addresses only with DNS_ALLOW_PRIVATE=true', () => {
    expect(loadConfig(good, noResolvConf).dns.allowPrivate).toBe(false);
    expect(loadConfig({ ...good, ...tlsFiles, NODE_ENV: 'production' }, noResolvConf).dns.allowPrivate).toBe(false);
    expect(loadConfig({ ...good, DNS_ALLOW_PRIVATE: 'true' }, noResolvConf).dns.allowPrivate).toBe(true);
    expect(problemsOf({ ...good, DNS_ALLOW_PRIVATE: 'sometimes' })).toEqual(['DNS_ALLOW_PRIVATE: must be true or false']);
  });

  it('uses production defaults under NODE_ENV=production', () => {
    // A smarthost given makes smarthost the default mode; without one, production delivers direct (below).
    const c = loadConfig({ ...good, ...tlsFiles, NODE_ENV: 'production', SMARTHOST_URL: 'smtp://smarthost.example:587' }, noResolvConf);
    expect(c.smtp.port).toBe(587);
    expect(c.delivery.mode).toBe('smarthost');
    expect(c.delivery.smarthostTls).toBe('required');
    expect(c.production).toBe(true);
  });

  it('delivers direct (DELIVERY_MODE=mx) by default in production when SMARTHOST_URL is unset; capture in dev; mx is accepted', () => {
    expect(loadConfig({ ...good, ...tlsFiles, NODE_ENV: 'production' }, noResolvConf).delivery.mode).toBe('mx');
    expect(loadConfig(good, noResolvConf).delivery.mode).toBe('capture');
    expect(loadConfig({ ...good, SMARTHOST_URL: 'smtp://smarthost.example' }, noResolvConf).delivery.mode).toBe('capture');
    expect(loadConfig({ ...good, DELIVERY_MODE: 'mx' }, noResolvConf).delivery.mode).toBe('mx');
    expect(loadConfig({ ...good, ...tlsFiles, NODE_ENV: 'production', DELIVERY_MODE: 'smarthost' }, noResolvConf).delivery.mode).toBe('smarthost');
  });

  it('requires TLS_CERT_FILE and TLS_KEY_FILE under NODE_ENV=production, listed with the other problems', () => {
    const problems = problemsOf({ ...good, NODE_ENV: 'production', PORT: 'eighty' });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^PORT: /),
        'TLS_CERT_FILE: is required when NODE_ENV=production (no self-signed certificate in production)',
        'TLS_KEY_FILE: is required when NODE_ENV=production (no self-signed certificate in production)',
      ]),
    );
    // One of the two: named once, as the one that is missing.
    expect(problemsOf({ ...good, NODE_ENV: 'production', TLS_CERT_FILE: '/tls/cert.pem' })).toEqual([
      'TLS_KEY_FILE: TLS_CERT_FILE and TLS_KEY_FILE go together',
    ]);
    // Outside production the relay may make its own certificate.
    expect(loadConfig({ ...good, NODE_ENV: 'development' }, noResolvConf).smtp.tlsCertFile).toBeUndefined();
  });

  it.each([
    [undefined, 'required'],
    ['required', 'required'],
    ['optional', 'optional'],
  ])('reads SMARTHOST_TLS=%p as %p', (raw, expected) => {
    expect(loadConfig({ ...good, SMARTHOST_TLS: raw }, noResolvConf).delivery.smarthostTls).toBe(expected);
  });

  it('reads the direct-delivery settings (MX_PORT 25, 5 connections per destination, MTA-STS on 443) and refuses bad ones', () => {
    expect(loadConfig(good, noResolvConf).delivery.mx).toEqual({ port: 25, maxConnectionsPerDomain: 5, destinationBackoffMs: 60_000, mtaStsPort: 443, mtaStsCaFile: undefined });
    const custom = { ...good, MX_PORT: '2525', MX_MAX_CONNECTIONS_PER_DOMAIN: '2', MX_DESTINATION_BACKOFF_MS: '0', MTA_STS_PORT: '8443', MTA_STS_CA_FILE: '/tls/ca.pem' };
    expect(loadConfig(custom, noResolvConf).delivery.mx).toEqual({ port: 2525, maxConnectionsPerDomain: 2, destinationBackoffMs: 0, mtaStsPort: 8443, mtaStsCaFile: '/tls/ca.pem' });
    const problems = problemsOf({ ...good, MX_PORT: '70000', MX_MAX_CONNECTIONS_PER_DOMAIN: '0', MX_DESTINATION_BACKOFF_MS: '-1', MTA_STS_PORT: 'https' });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['MTA_STS_PORT', 'MX_DESTINATION_BACKOFF_MS', 'MX_MAX_CONNECTIONS_PER_DOMAIN', 'MX_PORT']);
  });

  it('refuses any other SMARTHOST_TLS', () => {
    expect(problemsOf({ ...good, SMARTHOST_TLS: 'off' })[0]).toMatch(/^SMARTHOST_TLS: /);
  });

  it('reads SMTP_MAX_CLIENTS: 1000 by default, a whole number of at least 1', () => {
    expect(loadConfig(good, noResolvConf).smtp.maxClients).toBe(1000);
    expect(loadConfig({ ...good, SMTP_MAX_CLIENTS: '20' }, noResolvConf).smtp.maxClients).toBe(20);
    expect(problemsOf({ ...good, SMTP_MAX_CLIENTS: '0' })).toEqual([expect.stringMatching(/^SMTP_MAX_CLIENTS: /)]);
    expect(problemsOf({ ...good, SMTP_MAX_CLIENTS: 'lots' })).toEqual(['SMTP_MAX_CLIENTS: must be a whole number']);
  });

  it('takes the default sending limits from DEFAULT_RATE_PER_SECOND and DEFAULT_DAILY_QUOTA (14 and 50000 unset)', () => {
    expect(loadConfig(good, noResolvConf).sendingLimits).toEqual({ rateLimitPerSecond: 14, dailyQuota: 50_000 });
    const set = loadConfig({ ...good, DEFAULT_RATE_PER_SECOND: '100', DEFAULT_DAILY_QUOTA: '2000000' }, noResolvConf);
    expect(set.sendingLimits).toEqual({ rateLimitPerSecond: 100, dailyQuota: 2_000_000 });
    expect(problemsOf({ ...good, DEFAULT_RATE_PER_SECOND: '0', DEFAULT_DAILY_QUOTA: 'lots' })).toEqual([
      expect.stringMatching(/^DEFAULT_RATE_PER_SECOND: /),
      'DEFAULT_DAILY_QUOTA: must be a whole number',
    ]);
  });

  it('reports every bad variable at once', () => {
    const problems = problemsOf({
      NODE_ENV: 'production',
      PORT: 'eighty',
      SMTP_PORT: '70000',
      MASTER_KEY: 'c2hvcnQ=',
      DNS_RESOLVERS: 'not-an-ip',
      DNS_TIMEOUT_MS: '-5',
      OUTBOUND_IPS: '192.0.2.1,nope',
      PROPAGATION_SCHEDULE: '1m,soon',
      APPROVAL_MODE: 'sometimes',
      WEBHOOK_ALLOW_PRIVATE: 'maybe',
      TLS_CERT_FILE: '/tmp/cert.pem',
    });
    const names = [...new Set(problems.map((p) => p.split(':')[0]))];
    expect(names).toEqual(
      expect.arrayContaining([
        'PORT',
        'SMTP_PORT',
        'MONGODB_URI',
        'REDIS_URL',
        'MASTER_KEY',
        'ADMIN_API_KEY',
        'DNS_RESOLVERS',
        'DNS_TIMEOUT_MS',
        'OUTBOUND_IPS',
        'PROPAGATION_SCHEDULE',
        'APPROVAL_MODE',
        'WEBHOOK_ALLOW_PRIVATE',
        'TLS_KEY_FILE',
      ]),
    );
    expect(problems.find((p) => p.startsWith('MONGODB_URI'))).toBe('MONGODB_URI: is required');
  });

  it('reads nameservers from resolv.conf when DNS_RESOLVERS is unset', () => {
    const c = loadConfig({ ...good, DNS_RESOLVERS: undefined }, () => '# x\nnameserver 10.0.0.2\nnameserver ::1\nsearch lan\n');
    expect(c.dns.resolvers).toEqual([
      { host: '10.0.0.2', port: 53 },
      { host: '::1', port: 53 },
    ]);
  });

  it.each([
    ['127.0.0.1:5353', [{ host: '127.0.0.1', port: 5353 }]],
    ['[::1]:5353, 192.0.2.53', [{ host: '::1', port: 5353 }, { host: '192.0.2.53', port: 53 }]],
  ])('parses DNS_RESOLVERS %s', (raw, expected) => {
    expect(loadConfig({ ...good, DNS_RESOLVERS: raw }, noResolvConf).dns.resolvers).toEqual(expected);
  });

  it.each([['500ms,1s,2m,1h', [500, 1000, 120_000, 3600_000]]])('parses PROPAGATION_SCHEDULE %s', (raw, expected) => {
    expect(loadConfig({ ...good, PROPAGATION_SCHEDULE: raw }, noResolvConf).verification.propagationScheduleMs).toEqual(expected);
  });

  it.each(['0s', '5', '1 fortnight', '1m,soon', ','])('rejects PROPAGATION_SCHEDULE %p', (raw) => {
    expect(problemsOf({ ...good, PROPAGATION_SCHEDULE: raw })[0]).toMatch(/^PROPAGATION_SCHEDULE: /);
  });

  it('defaults the account quotas and the API budget, and refuses zero', () => {
    expect(loadConfig(good, noResolvConf).quotas).toEqual({ domainsPerAccount: 1000, webhooksPerAccount: 25, apiRatePerSecond: 20, apiBurst: 50 });
    const problems = problemsOf({ ...good, MAX_DOMAINS_PER_ACCOUNT: '0', MAX_WEBHOOKS_PER_ACCOUNT: 'many', API_RATE_PER_SECOND: '0', API_RATE_BURST: '-1' });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['API_RATE_BURST', 'API_RATE_PER_SECOND', 'MAX_DOMAINS_PER_ACCOUNT', 'MAX_WEBHOOKS_PER_ACCOUNT']);
  });
  it('reads the relay ports and the PROXY protocol networks (issue 13)', () => {
    const dev = loadConfig({ ...good, RELAY_HOSTNAME: 'relay.example.com' }, noResolvConf);
    expect(dev.smtp).toMatchObject({ smtpsPort: 2465, proxyProtocolFrom: [] });
    expect(dev.returnPath).toMatchObject({ bouncePort: 2525, mxHost: 'relay.example.com' });
    const prod = loadConfig({ ...good, ...tlsFiles, NODE_ENV: 'production', SMTP_PROXY_PROTOCOL_FROM: '10.0.0.0/8, 2001:db8::/32,192.0.2.7', RETURN_PATH_MX_HOST: 'bounces.example.net' }, noResolvConf);
    expect(prod.smtp).toMatchObject({ port: 587, smtpsPort: 465, proxyProtocolFrom: ['10.0.0.0/8', '2001:db8::/32', '192.0.2.7'] });
    expect(prod.returnPath).toMatchObject({ bouncePort: 25, mxHost: 'bounces.example.net' });
    expect(problemsOf({ ...good, SMTP_PROXY_PROTOCOL_FROM: '10.0.0.0/33,lb.example', SMTPS_PORT: '70000' })).toEqual(
      expect.arrayContaining([
        'SMTP_PROXY_PROTOCOL_FROM: "10.0.0.0/33" is not a CIDR or an IP address',
        'SMTP_PROXY_PROTOCOL_FROM: "lb.example" is not a CIDR or an IP address',
        expect.stringMatching(/^SMTPS_PORT: /),
      ]),
    );
  });

  it('treats an empty variable as unset, defaults included (compose writes ${X:-} as "")', () => {
    const c = loadConfig({ ...good, RELAY_HOSTNAME: 'relay.example.com', SMARTHOST_URL: '', RETURN_PATH_MX_HOST: '', SMTPS_PORT: ' ', DELIVERY_MODE: '' }, noResolvConf);
    expect(c.delivery.smarthostUrl).toBe('smtp://127.0.0.1:25');
    expect(c.smtp.smtpsPort).toBe(2465);
    // An empty RETURN_PATH_MX_HOST is unset: the default, RELAY_HOSTNAME, applies.
    expect(c.returnPath.mxHost).toBe('relay.example.com');
  });
});
