import type { Domain, DomainRecord, NameserverVerdict, PublishedRecord } from './types';
import { hostLabel, zoneFromSpf } from './host-labels';
import { Badge, CopyButton, CopyValue, Empty, when } from './ui';

const bytes = (s: string) => new TextEncoder().encode(s).length;

/** The zone the domain's records live in (see zoneFromSpf). */
export function zoneOf(domain: Domain): string {
  return zoneFromSpf(domain.domain, domain.records.find((r) => r.purpose === 'spf'));
}

export function recordTitle(record: PublishedRecord & { selector?: string }): string {
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

/**
 * A failing record's hint, first and in full: the likely mistake and what to type at which
 * host. It may quote what a nameserver returned, so it is text like everything else.
 */
function Hint({ hint, host, title }: { hint: string; host: string; title: string }) {
  return (
    <div class="hint" role="note" aria-label={`How to fix ${title}`}>
      <p class="hint-host">
        Fix at host <code>{host}</code>
      </p>
      <p class="hint-text">{hint}</p>
    </div>
  );
}

/** One record to publish: where, what, and how it stands. `zone` gives records without `host` their label. */
export function RecordCard({ record, zone, index }: { record: PublishedRecord & Partial<Omit<DomainRecord, keyof PublishedRecord>>; zone: string; index: number | string }) {
  const title = recordTitle(record);
  const host = hostLabel(record, zone);
  const headingId = `record-${index}`;
  const strings = record.strings ?? [];
  return (
    <article class="record" aria-labelledby={headingId} data-purpose={record.purpose} data-type={record.type} data-selector={record.selector}>
      <div class="record-head">
        <h3 id={headingId}>{title}</h3>
        <Badge value={record.status} label="status" />
        {record.state ? <Badge value={record.state} label="selector state" /> : null}
        {record.safeToRemove ? <span class="note">safe to remove from DNS</span> : null}
      </div>
      {record.hint ? <Hint hint={record.hint} host={host} title={title} /> : null}
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
        {record.exchange !== undefined && record.priority !== undefined ? (
          <>
            <dt>Priority</dt>
            <dd>
              <CopyValue text={String(record.priority)} label={`${title} priority`} />
            </dd>
            <dt>Mail server</dt>
            <dd>
              <CopyValue text={record.exchange} label={`${title} mail server`} />
            </dd>
          </>
        ) : null}
        <dt>Value</dt>
        <dd>
          <CopyValue text={record.value} label={`${title} value`} />
        </dd>
        {strings.length > 1 ? (
          <>
            <dt>As 255-byte strings</dt>
            <dd>
              <ol class="strings">
                {strings.map((s, i) => (
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
        {record.retiresAt ? (
          <>
            <dt>Retires</dt>
            <dd>
              <time dateTime={record.retiresAt}>{when(record.retiresAt)}</time>
            </dd>
          </>
        ) : null}
        {record.reason ? (
          <>
            <dt>Why</dt>
            <dd>{record.reason}</dd>
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
function nameserversOf(records: PublishedRecord[]): Array<Pick<NameserverVerdict, 'host' | 'ip'>> {
  const seen = new Map<string, Pick<NameserverVerdict, 'host' | 'ip'>>();
  for (const r of records) for (const ns of r.nameservers) if (!seen.has(`${ns.host} ${ns.ip}`)) seen.set(`${ns.host} ${ns.ip}`, ns);
  return [...seen.values()];
}

/** Record × nameserver: what each authoritative server answers for each record. */
export function PropagationTable({
  records,
  zone,
  caption,
  id,
}: {
  records: Array<PublishedRecord & { selector?: string; state?: string }>;
  zone: string;
  caption: string;
  id: string;
}) {
  const servers = nameserversOf(records);
  if (!servers.length) return <Empty>No nameserver has been asked yet: the first check runs within a minute.</Empty>;
  return (
    <div class="table-wrap">
      <table class="propagation" id={id}>
        <caption class="visually-hidden">{caption}</caption>
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
          {records.map((r, i) => (
            <tr key={`${r.purpose}-${r.selector ?? i}`} data-purpose={r.purpose} data-selector={r.selector}>
              <th scope="row">
                {r.purpose.toUpperCase()}
                {r.type !== r.purpose.toUpperCase() ? <span class="muted"> {r.type}</span> : null}
                {r.state ? <Badge value={r.state} label="selector state" /> : null}
                <span class="muted small">{hostLabel(r, zone)}</span>
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
