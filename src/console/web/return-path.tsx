import { useState } from 'preact/hooks';
import { api, enc } from './api';
import { RecordCard } from './records';
import type { Domain } from './types';
import { Badge, Empty, ErrorNote, FieldErrors, Section, useAction } from './ui';

/** The return path: its records when the API sends them, and the form that sets it. */
export function ReturnPathSection({ domain, refresh }: { domain: Domain; refresh: () => void }) {
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
