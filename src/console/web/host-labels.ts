// Where a record goes, as a DNS provider's form asks for it: a label relative to the zone.

/**
 * The zone a domain's records live in, from its own SPF record: that record is at the domain's
 * name, and its `host` (from the API) is that name relative to the zone (`@` at the apex,
 * `mail` when the domain is mail.<zone>). Without it, the domain itself.
 */
export function zoneFromSpf(domain: string, spf: { name: string; host?: string } | undefined): string {
  if (!spf?.host || spf.host === '@' || spf.name !== domain) return domain;
  return domain.startsWith(`${spf.host}.`) ? domain.slice(spf.host.length + 1) : domain;
}

/** The record's label relative to `zone` (`@` at the apex); the API's own `host` when it sent one. */
export function hostLabel(record: { name: string; host?: string }, zone: string): string {
  if (record.host) return record.host;
  if (record.name === zone) return '@';
  return record.name.endsWith(`.${zone}`) ? record.name.slice(0, -zone.length - 1) : record.name;
}
