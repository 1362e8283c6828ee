import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, enc, getIfChanged } from './api';
import { DkimRotation } from './dkim-selectors';
import { AllowedIps, Questionnaire, SmtpUsers } from './domain-settings';
import { PropagationTable, RecordCard, zoneOf } from './records';
import { ReturnPathSection } from './return-path';
import type { Check, Domain, Page } from './types';
import { Badge, Empty, ErrorNote, ListTable, Section, useAction, useLoad, when } from './ui';

/** How often the page asks for the domain; an unchanged one costs a 304. */
const POLL_MS = 2000;

/** The domain, refreshed every POLL_MS with If-None-Match; `refresh()` asks at once. */
function useDomain(id: string) {
  const [domain, setDomain] = useState<Domain | null>(null);
  const [error, setError] = useState<unknown>(null);
  const etag = useRef<string | null>(null);
  const [nudge, setNudge] = useState(0);
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      if (!document.hidden) {
        try {
          const r = await getIfChanged<Domain>(`/v1/domains/${enc(id)}`, etag.current);
          if (!live) return;
          if (r.changed) {
            etag.current = r.etag;
            setDomain(r.body);
          }
          setError(null);
        } catch (e) {
          if (live) setError(e);
        }
      }
      if (live) timer = setTimeout(poll, POLL_MS);
    };
    void poll();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [id, nudge]);
  return { domain, error, refresh: () => setNudge((n) => n + 1) };
}

function useNow(everyMs: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}

function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h}h ${String(m).padStart(2, '0')}m ${String(s % 60).padStart(2, '0')}s`;
}

/** The 72-hour window, counting down while the domain is pending. */
function Countdown({ domain }: { domain: Domain }) {
  const now = useNow(1000);
  const left = new Date(domain.verification.deadlineAt).getTime() - now;
  if (domain.status !== 'pending') return null;
  return (
    <p class="countdown">
      Verification window closes in{' '}
      <time dateTime={domain.verification.deadlineAt} class="tabular" data-testid="countdown">
        {left > 0 ? duration(left) : 'a moment'}
      </time>
    </p>
  );
}

function Overview({ domain, refresh }: { domain: Domain; refresh: () => void }) {
  const verify = useAction();
  const v = domain.verification;
  return (
    <Section
      title="Status"
      id="status-title"
      actions={
        <button
          type="button"
          disabled={verify.busy}
          onClick={() => verify.run(() => api('POST', `/v1/domains/${enc(domain.id)}/verify`)).then(refresh)}
        >
          Verify now
        </button>
      }
    >
      <div class="badges" aria-live="polite">
        <span>
          Status <Badge value={domain.status} />
        </span>
        <span>
          Approval <Badge value={domain.approval} />
        </span>
        <span>
          Sending <Badge value={domain.sending.allowed ? 'allowed' : 'not allowed'} />
        </span>
      </div>
      <p class="muted">{domain.sending.reason}</p>
      <Countdown domain={domain} />
      <dl class="facts">
        <dt>Last checked</dt>
        <dd>{when(v.lastCheckedAt)}</dd>
        <dt>Next check</dt>
        <dd>{when(v.nextCheckAt)}</dd>
        <dt>Verified</dt>
        <dd>{when(v.verifiedAt)}</dd>
        {v.suspendedAt ? (
          <>
            <dt>Suspended</dt>
            <dd>{when(v.suspendedAt)}</dd>
          </>
        ) : null}
      </dl>
      <ErrorNote error={verify.error} />
    </Section>
  );
}

function CheckHistory({ domain }: { domain: Domain }) {
  const checks = useLoad(() => api<Page<Check>>('GET', `/v1/domains/${enc(domain.id)}/checks?limit=10`), [domain.id, domain.verification.lastCheckedAt]);
  return (
    <Section title="Check history" id="checks-title">
      <ListTable
        error={checks.error}
        items={checks.value?.data}
        empty="No check has run yet."
        columns={['When', 'Trigger', 'Verdict', 'Status', 'Records']}
        row={(c) => (
          <tr key={c.id}>
            <td>{when(c.createdAt)}</td>
            <td>{c.trigger}</td>
            <td>
              <Badge value={c.verdict} />
            </td>
            <td>
              {c.statusBefore} → {c.statusAfter}
            </td>
            <td>
              {c.records.map((r) => (
                <span key={`${r.purpose}-${r.selector}`} class="chip">
                  {r.purpose} <Badge value={r.status} />
                </span>
              ))}
            </td>
          </tr>
        )}
      />
    </Section>
  );
}

function DeleteDomain({ domain }: { domain: Domain }) {
  const action = useAction();
  const remove = async () => {
    if (!confirm(`Delete ${domain.domain}? Its checks stop and its SMTP users are removed.`)) return;
    const r = await action.run(() => api('DELETE', `/v1/domains/${enc(domain.id)}`));
    if (r.ok) location.hash = '#/domains';
  };
  return (
    <Section title="Delete" id="delete-title">
      <button type="button" class="danger" onClick={remove} disabled={action.busy}>
        Delete this domain
      </button>
      <ErrorNote error={action.error} />
    </Section>
  );
}

export function DomainPage({ id }: { id: string }) {
  const { domain, error, refresh } = useDomain(id);
  if (!domain) {
    if (error instanceof ApiError && error.status === 404) return <Empty>No such domain.</Empty>;
    return error ? <ErrorNote error={error} /> : <p class="loading">Loading…</p>;
  }
  return (
    <>
      <p class="crumbs">
        <a href="#/domains">Domains</a> /
      </p>
      <h1>{domain.domain}</h1>
      {/* A failed poll keeps the last answer on screen and says why it is stale. */}
      <div class="stale" aria-live="polite">
        {error ? <ErrorNote error={error} /> : null}
      </div>
      <Overview domain={domain} refresh={refresh} />
      <Section title="Records to publish" id="records-title">
        {domain.records.map((r, i) => (
          <RecordCard key={`${r.purpose}-${r.selector ?? i}`} record={r} zone={zoneOf(domain)} index={i} />
        ))}
        {domain.dmarc.found || domain.dmarc.advice ? (
          <div class="dmarc">
            <h3>DMARC</h3>
            {domain.dmarc.found ? <code class="value">{domain.dmarc.found}</code> : <span class="muted">no DMARC record found</span>}
            {domain.dmarc.advice ? <p>{domain.dmarc.advice}</p> : null}
          </div>
        ) : null}
      </Section>
      <Section title="Propagation" id="propagation-title">
        <PropagationTable records={domain.records} zone={zoneOf(domain)} id="domain-propagation" caption="Each record's verdict on each authoritative nameserver" />
      </Section>
      <DkimRotation domain={domain} refresh={refresh} />
      <ReturnPathSection domain={domain} refresh={refresh} />
      <CheckHistory domain={domain} />
      <SmtpUsers domain={domain} />
      <AllowedIps domain={domain} refresh={refresh} />
      <Questionnaire domain={domain} refresh={refresh} />
      <DeleteDomain domain={domain} />
    </>
  );
}
