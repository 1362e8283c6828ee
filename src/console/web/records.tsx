import type { Domain, DomainRecord, NameserverVerdict } from './types';
import { Badge, CopyButton, CopyValue, Empty } from './ui';

const bytes = (s: string) => new TextEncoder().encode(s).length;

/** The record's label relative to the zone (`@` for the apex), as a DNS host's form asks for it. */
export function hostLabel(record: DomainRecord, domain: string): string {
  if (record.host) return record.host;
  if (record.name === domain) return '@';
  return record.name.endsWith(`.${domain}`) ? record.name.slice(0, -domain.length - 1) : record.name;
}

export function recordTitle(record: DomainRecord): string {
  return record.purpose === 'dkim' && record.selector ? `DKIM (${record.selector})` : record.purpose.toUpperCase();
}

function Found({ values }: { values: string[] }) {
  if (!values.length) return <span class="muted">nothing found</span>;
  return (
    <ul class="found">
      {values.map((v, i) => (
        <li key={i}>
          <code>{v}</code>
        </li>
      ))}
    </ul>
  );
}

/** One record to publish: where, what, and how it stands. */
export function RecordCard({ record, domain, index }: { record: DomainRecord; domain: string; index: number }) {
  const title = recordTitle(record);
  const host = hostLabel(record, domain);
  const headingId = `record-${index}`;
  return (
    <article class="record" aria-labelledby={headingId} data-purpose={record.purpose}>
      <div class="record-head">
        <h3 id={headingId}>{title}</h3>
        <Badge value={record.status} label="status" />
        {record.state ? <Badge value={record.state} label="selector state" /> : null}
        {record.safeToRemove ? <span class="note">safe to remove from DNS</span> : null}
      </div>
      <dl class="record-fields">
        <dt>Host</dt>
        <dd>
          <CopyValue text={host} label={`${title} host`} />
          {host !== record.name ? <span class="muted small">{record.name}</span> : null}
        </dd>
        <dt>Type</dt>
        <dd>
          <code>{record.type}</code>
        </dd>
        <dt>Value</dt>
        <dd>
          <CopyValue text={record.value} label={`${title} value`} />
        </dd>
        {record.strings.length > 1 ? (
          <>
            <dt>As 255-byte strings</dt>
            <dd>
              <ol class="strings">
                {record.strings.map((s, i) => (
                  <li key={i}>
                    <code class="value">{s}</code>
                    <span class="muted small">{bytes(s)} bytes</span>
                    <CopyButton text={s} label={`${title} string ${i + 1}`} />
                  </li>
                ))}
              </ol>
            </dd>
          </>
        ) : null}
        {record.reason ? (
          <>
            <dt>Why</dt>
            <dd>{record.reason}</dd>
          </>
        ) : null}
        {record.hint ? (
          <>
            <dt>Hint</dt>
            <dd class="hint">{record.hint}</dd>
          </>
        ) : null}
        {record.warnings?.length ? (
          <>
            <dt>Warnings</dt>
            <dd>
              <ul>
                {record.warnings.map((w, i) => (
                  <li key={i}>{w}</li>
                ))}
              </ul>
            </dd>
          </>
        ) : null}
        <dt>Found</dt>
        <dd>
          <Found values={record.found} />
        </dd>
      </dl>
    </article>
  );
}

/** Every nameserver any record was checked on, in the order first seen. */
function nameserversOf(records: DomainRecord[]): Array<Pick<NameserverVerdict, 'host' | 'ip'>> {
  const seen = new Map<string, Pick<NameserverVerdict, 'host' | 'ip'>>();
  for (const r of records) for (const ns of r.nameservers) if (!seen.has(`${ns.host} ${ns.ip}`)) seen.set(`${ns.host} ${ns.ip}`, ns);
  return [...seen.values()];
}

/** Record × nameserver: what each authoritative server answers for each record. */
export function PropagationTable({ domain }: { domain: Domain }) {
  const servers = nameserversOf(domain.records);
  if (!servers.length) return <Empty>No nameserver has been asked yet: the first check runs within a minute of adding the domain.</Empty>;
  return (
    <div class="table-wrap">
      <table class="propagation">
        <caption class="visually-hidden">Each record's verdict on each authoritative nameserver</caption>
        <thead>
          <tr>
            <th scope="col">Record</th>
            {servers.map((s) => (
              <th scope="col" key={`${s.host} ${s.ip}`} data-nameserver={s.host}>
                {s.host}
                <span class="muted small">{s.ip}</span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {domain.records.map((r, i) => (
            <tr key={`${r.purpose}-${r.selector ?? i}`} data-purpose={r.purpose}>
              <th scope="row">
                {r.purpose.toUpperCase()}
                {r.state ? <Badge value={r.state} label="selector state" /> : null}
                <span class="muted small">{hostLabel(r, domain.domain)}</span>
              </th>
              {servers.map((s) => {
                const v = r.nameservers.find((n) => n.host === s.host && n.ip === s.ip);
                return (
                  <td key={`${s.host} ${s.ip}`} data-nameserver={s.host} data-status={v?.status ?? 'pending'}>
                    <Badge value={v?.status ?? 'pending'} />
                    {v ? <Found values={v.found} /> : null}
                    {v?.reason ? <span class="muted small">{v.reason}</span> : null}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
