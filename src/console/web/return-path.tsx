import { useState } from 'preact/hooks';
import { api, ApiError, apiChoices, enc } from './api';
import { PropagationTable, RecordCard, zoneOf } from './records';
import type { Domain, ReturnPath } from './types';
import { Badge, Empty, ErrorNote, FieldErrors, Section, useAction, useLoad, when } from './ui';

const FALLBACKS: Record<string, string> = {
  use_sender: "send from the sender's address",
  reject: 'refuse the mail',
};

/** What `applies` means for the mail sent now. */
function applies(rp: ReturnPath): string {
  if (rp.applies === 'verp') return `a VERP address b-…@${rp.subdomain}: bounces come back here and suppress the recipient`;
  if (rp.applies === 'reject') return 'none: the relay refuses mail from this domain until the return path is verified';
  return "the client's own MAIL FROM, until the return path is verified";
}

function ReturnPathState({ domain, rp }: { domain: Domain; rp: ReturnPath }) {
  const zone = zoneOf(domain);
  const v = rp.verification;
  return (
    <>
      <div class="badges" aria-live="polite" data-testid="return-path-state">
        <span>
          Status <Badge value={rp.status} label="return path status" />
        </span>
        <span>
          Envelope sender now <Badge value={rp.applies} label="applies" />
        </span>
      </div>
      <p class="muted" data-testid="return-path-applies">
        Mail leaves with {applies(rp)}.
      </p>
      <dl class="facts">
        <dt>Subdomain</dt>
        <dd>
          <code>{rp.subdomain}</code>
        </dd>
        <dt>While not verified</dt>
        <dd>{rp.fallback === 'reject' ? 'the relay refuses mail from the domain (451 4.7.1)' : "mail leaves from the sender's own address"}</dd>
        <dt>Last checked</dt>
        <dd>{when(v.lastCheckedAt)}</dd>
        <dt>{rp.status === 'pending' ? 'Window closes' : 'Verified'}</dt>
        <dd>{when(rp.status === 'pending' ? v.deadlineAt : v.verifiedAt)}</dd>
        {v.suspendedAt ? (
          <>
            <dt>Suspended</dt>
            <dd>{when(v.suspendedAt)}</dd>
          </>
        ) : null}
      </dl>
      <h3 class="subhead">Records to publish at {rp.subdomain}</h3>
      {rp.records.map((r) => (
        <RecordCard key={r.purpose} record={r} zone={zone} index={`return-path-${r.purpose}`} />
      ))}
      <h3 class="subhead">Propagation</h3>
      <PropagationTable records={rp.records} zone={zone} id="return-path-propagation" caption="Each return-path record's verdict on each authoritative nameserver" />
    </>
  );
}

/** The return path: its state and records, and the form that sets it. */
export function ReturnPathSection({ domain, refresh }: { domain: Domain; refresh: () => void }) {
  const rp = domain.returnPath;
  const choices = useLoad(() => apiChoices(), []);
  const [subdomain, setSubdomain] = useState(rp?.subdomain ?? '');
  const [fallback, setFallback] = useState<string>(rp?.fallback ?? 'use_sender');
  const action = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    const r = await action.run(() => api('PUT', `/v1/domains/${enc(domain.id)}/return-path`, { subdomain: subdomain.trim(), fallback }));
    if (r.ok) refresh();
  };
  const subdomainInvalid = action.error instanceof ApiError && action.error.about('subdomain').length > 0;
  const fallbackInvalid = action.error instanceof ApiError && action.error.about('fallback').length > 0;
  const fallbacks = choices.value?.fallbacks.length ? choices.value.fallbacks : Object.keys(FALLBACKS);
  return (
    <Section title="Return path" id="return-path-title">
      {rp ? (
        <ReturnPathState domain={domain} rp={rp} />
      ) : (
        <Empty>No return path yet. Set a subdomain to receive bounces on your own domain.</Empty>
      )}
      <form class="inline-form section-form" onSubmit={submit}>
        <h3>{rp ? 'Change the return path' : 'Set a return path'}</h3>
        <div class="field">
          <label for="rp-subdomain">Subdomain</label>
          <input
            id="rp-subdomain"
            value={subdomain}
            placeholder={`bounces.${domain.domain}`}
            onInput={(e) => setSubdomain(e.currentTarget.value)}
            aria-invalid={subdomainInvalid ? 'true' : undefined}
            aria-describedby="rp-subdomain-errors"
            autocomplete="off"
            spellcheck={false}
          />
          <FieldErrors id="rp-subdomain-errors" error={action.error} field="subdomain" />
        </div>
        <div class="field">
          <label for="rp-fallback">While not verified</label>
          <select
            id="rp-fallback"
            value={fallback}
            onChange={(e) => setFallback(e.currentTarget.value)}
            aria-invalid={fallbackInvalid ? 'true' : undefined}
            aria-describedby="rp-fallback-errors"
          >
            {fallbacks.map((f) => (
              <option key={f} value={f}>
                {FALLBACKS[f] ?? f}
              </option>
            ))}
          </select>
          <FieldErrors id="rp-fallback-errors" error={action.error} field="fallback" />
        </div>
        <button type="submit" disabled={action.busy}>
          Save return path
        </button>
        <ErrorNote error={action.error} />
      </form>
    </Section>
  );
}
