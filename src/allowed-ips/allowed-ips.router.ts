import { Router } from 'express';
import { z } from 'zod';
import { MAX_ALLOWED_IPS, type AllowedIpService } from './allowed-ip.service';
import { normalizeCidr } from './cidr';
import { accountIdOf } from '../http/auth';
import { parse } from '../http/validate';
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
});

export function allowedIpsRoutes(allowedIps: AllowedIpService): Router {
  const r = Router();

  r.get('/v1/domains/:id/allowed-ips', async (req, res) => {
    res.json(await allowedIps.get(accountIdOf(req), domainIdParam(req)));
  });

  r.put('/v1/domains/:id/allowed-ips', async (req, res) => {
    const accountId = accountIdOf(req);
    const id = domainIdParam(req);
    const body = parse(allowedIpsBody, req.body);
    res.json(await allowedIps.replace(accountId, id, body.cidrs));
  });

  return r;
}
