import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, enc, getIfChanged } from './api';
import { AllowedIps, Questionnaire, SmtpUsers } from './domain-settings';
import { PropagationTable, RecordCard } from './records';
import type { Check, Domain, Page } from './types';
import { Badge, Empty, ErrorNote, FieldErrors, Section, useAction, useLoad, when } from './ui';

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

function DkimRotation({ domain, refresh }: { domain: Domain; refresh: () => void }) {
  const action = useAction();
  const dkim = domain.records.filter((r) => r.purpose === 'dkim');
  const rotating = dkim.some((r) => r.state === 'pending');
  return (
    <Section title="DKIM selectors" id="dkim-title">
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Selector</th>
              <th scope="col">Algorithm</th>
              <th scope="col">State</th>
              <th scope="col">Verdict</th>
            </tr>
          </thead>
          <tbody>
            {dkim.map((r) => (
              <tr key={r.selector ?? r.name}>
                <th scope="row">
                  <code>{r.selector ?? r.name}</code>
                </th>
                <td>{r.algorithm ?? '—'}</td>
                <td>
                  {r.state ? <Badge value={r.state} /> : <span class="muted">—</span>}
                  {r.safeToRemove ? <span class="note">safe to remove</span> : null}
                </td>
                <td>
                  <Badge value={r.status} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="actions">
        <button type="button" disabled={action.busy} onClick={() => action.run(() => api('POST', `/v1/domains/${enc(domain.id)}/dkim/rotate`)).then(refresh)}>
          Rotate DKIM key
        </button>
        {rotating ? (
          <button
            type="button"
            class="secondary"
            disabled={action.busy}
            onClick={() => action.run(() => api('DELETE', `/v1/domains/${enc(domain.id)}/dkim/rotation`)).then(refresh)}
          >
            Cancel rotation
          </button>
        ) : null}
      </div>
      <ErrorNote error={action.error} />
    </Section>
  );
}

function ReturnPathSection({ domain, refresh }: { domain: Domain; refresh: () => void }) {
  const rp = domain.returnPath;
  const [subdomain, setSubdomain] = useState(rp?.subdomain ?? '');
  const [fallback, setFallback] = useState(rp?.fallback ?? 'use_sender');
  const action = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    const r = await action.run(() => api('PUT', `/v1/domains/${enc(domain.id)}/return-path`, { subdomain: subdomain.trim(), fallback }));
    if (r.ok) refresh();
  };
  return (
    <Section title="Return path" id="return-path-title">
      {rp ? (
        <>
          <div class="badges">
            {rp.status ? (
              <span>
                Status <Badge value={String(rp.status)} />
              </span>
            ) : null}
            {rp.fallback ? <span class="muted">fallback: {rp.fallback}</span> : null}
          </div>
          {(rp.records ?? []).map((r, i) => (
            <RecordCard key={`${r.type}-${i}`} record={r} domain={domain.domain} index={100 + i} />
          ))}
        </>
      ) : (
        <Empty>No return path yet. Set a subdomain to receive bounces on your own domain.</Empty>
      )}
      <form class="inline-form" onSubmit={submit}>
        <div class="field">
          <label for="rp-subdomain">Subdomain</label>
          <input
            id="rp-subdomain"
            value={subdomain}
            placeholder={`bounces.${domain.domain}`}
            onInput={(e) => setSubdomain(e.currentTarget.value)}
            aria-describedby="rp-subdomain-errors"
          />
          <FieldErrors id="rp-subdomain-errors" error={action.error} field="subdomain" />
        </div>
        <div class="field">
          <label for="rp-fallback">When it fails</label>
          <select id="rp-fallback" value={fallback} onChange={(e) => setFallback(e.currentTarget.value)}>
            <option value="use_sender">use the sender</option>
            <option value="reject">reject</option>
          </select>
        </div>
        <button type="submit" disabled={action.busy}>
          Save return path
        </button>
      </form>
      <ErrorNote error={action.error} />
    </Section>
  );
}

function CheckHistory({ domain }: { domain: Domain }) {
  const checks = useLoad(() => api<Page<Check>>('GET', `/v1/domains/${enc(domain.id)}/checks?limit=10`), [domain.id, domain.verification.lastCheckedAt]);
  return (
    <Section title="Check history" id="checks-title">
      <ErrorNote error={checks.error} />
      {checks.value && !checks.value.data.length ? <Empty>No check has run yet.</Empty> : null}
      {checks.value?.data.length ? (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Trigger</th>
                <th scope="col">Verdict</th>
                <th scope="col">Status</th>
                <th scope="col">Records</th>
              </tr>
            </thead>
            <tbody>
              {checks.value.data.map((c) => (
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
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
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
          <RecordCard key={`${r.purpose}-${r.selector ?? i}`} record={r} domain={domain.domain} index={i} />
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
        <PropagationTable domain={domain} />
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
