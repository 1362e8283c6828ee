import { z } from 'zod';
import { MAX_ALLOWED_IPS, type AllowedIpService } from './allowed-ip.service';
import { normalizeCidr } from './cidr';
import { RouteTable } from '../http/route';
import { domainIdParam } from '../domains/domains.router';

const cidr = z
  .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
  .max(100, 'must be at most 100 characters')
  .transform((text, ctx) => {
    const r = normalizeCidr(text);
    if (r.ok) return r.cidr;
    ctx.addIssue({ code: 'custom', message: r.reason, input: text });
    return z.NEVER;
  });

/** PUT /v1/domains/:id/allowed-ips: the whole allowlist, replacing the previous one. */
export const allowedIpsBody = z.strictObject({
  cidrs: z
    .array(cidr, { error: (issue) => (issue.input === undefined ? 'is required' : 'must be an array of CIDR strings') })
    .meta({
      description: `IPv4 and IPv6 CIDRs or bare addresses (a host); normalised and deduplicated, at most ${MAX_ALLOWED_IPS} distinct. [] lets nobody connect.`,
    })
    // Entries that normalise to the same network count once, in the order first given.
    .transform((list) => [...new Set(list)])
    .pipe(z.array(z.string()).max(MAX_ALLOWED_IPS, `must list at most ${MAX_ALLOWED_IPS} distinct networks`)),
}).meta({ id: 'AllowedIps' });

const allowedIpList = z
  .strictObject({ cidrs: z.array(z.string()).max(MAX_ALLOWED_IPS) })
  .meta({ id: 'AllowedIpList', description: 'the normalised, deduplicated CIDRs' });

export function allowedIpsRoutes(allowedIps: AllowedIpService): RouteTable {
  return new RouteTable()
    .route({
      method: 'get',
      path: '/v1/domains/:id/allowed-ips',
      summary: 'The IP allowlist for relay connections ([] by default: nobody)',
      auth: 'account',
      params: { id: domainIdParam },
      responses: { 200: { description: 'the normalised CIDRs', body: allowedIpList } },
      handler: async ({ accountId, params }, res) => {
        res.json(await allowedIps.get(accountId, params.id));
      },
    })
    .route({
      method: 'put',
      path: '/v1/domains/:id/allowed-ips',
      summary: `Replace the IP allowlist (IPv4 and IPv6 CIDRs or bare addresses; at most ${MAX_ALLOWED_IPS})`,
      auth: 'account',
      params: { id: domainIdParam },
      body: allowedIpsBody,
      responses: { 200: { description: 'the normalised, deduplicated CIDRs', body: allowedIpList } },
      errors: [503],
      handler: async ({ accountId, params, body }, res) => {
        res.json(await allowedIps.replace(accountId, params.id, body.cidrs));
      },
    });
}
