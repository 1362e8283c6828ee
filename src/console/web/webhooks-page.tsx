import { useState } from 'preact/hooks';
import { api, apiChoices, enc } from './api';
import type { Domain, Page, Webhook, WebhookDelivery } from './types';
import { Badge, CopyValue, Empty, ErrorNote, FieldErrors, ListTable, Section, useAction, useLoad, when } from './ui';

function Deliveries({ webhook }: { webhook: Webhook }) {
  const log = useLoad(() => api<Page<WebhookDelivery>>('GET', `/v1/webhooks/${enc(webhook.id)}/deliveries?limit=20`), [webhook.id]);
  return (
    <div class="deliveries">
      <div class="card-head">
        <h4>Delivery log</h4>
        <button type="button" class="secondary" onClick={log.reload}>
          Refresh log
        </button>
      </div>
      <ListTable
        error={log.error}
        items={log.value?.data}
        empty="No delivery yet."
        columns={['When', 'Event', 'Attempt', 'Outcome', 'HTTP', 'Error']}
        row={(d) => (
          <tr key={d.id}>
            <td>{when(d.createdAt)}</td>
            <td>
              <code>{d.type}</code>
            </td>
            <td>{d.attempt}</td>
            <td>
              <Badge value={d.outcome} />
            </td>
            <td>{d.statusCode ?? '—'}</td>
            <td>{d.error ?? ''}</td>
          </tr>
        )}
      />
    </div>
  );
}

function WebhookRow({ webhook, onRemoved }: { webhook: Webhook; onRemoved: () => void }) {
  const [open, setOpen] = useState(false);
  const [tested, setTested] = useState<string | null>(null);
  const action = useAction();
  const test = async () => {
    const r = await action.run(() => api<{ eventId: string }>('POST', `/v1/webhooks/${enc(webhook.id)}/test`));
    if (r.ok) setTested(r.value.eventId);
  };
  const remove = async () => {
    if (!confirm(`Remove the webhook to ${webhook.url}?`)) return;
    const r = await action.run(() => api('DELETE', `/v1/webhooks/${enc(webhook.id)}`));
    if (r.ok) onRemoved();
  };
  return (
    <li class="webhook">
      <div class="row-head">
        <code class="value">{webhook.url}</code>
        <Badge value={webhook.status} />
      </div>
      <p class="muted small">
        {webhook.events.join(', ')}
        {webhook.disabledReason ? ` — disabled: ${webhook.disabledReason}` : ''}
      </p>
      <div class="actions">
        <button type="button" class="secondary" aria-expanded={open} onClick={() => setOpen(!open)}>
          {open ? 'Hide delivery log' : 'Show delivery log'}
        </button>
        <button type="button" class="secondary" onClick={test} disabled={action.busy}>
          Send test event
        </button>
        <button type="button" class="danger" onClick={remove} disabled={action.busy}>
          Remove
        </button>
      </div>
      {tested ? <p role="status">Test event {tested} queued.</p> : null}
      <ErrorNote error={action.error} />
      {open ? <Deliveries webhook={webhook} /> : null}
    </li>
  );
}

function CreateWebhook({ onCreated }: { onCreated: () => void }) {
  const choices = useLoad(() => apiChoices(), []);
  const domains = useLoad(() => api<Page<Domain>>('GET', '/v1/domains?limit=100'), []);
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<string[]>([]);
  const [domainId, setDomainId] = useState('');
  const [secret, setSecret] = useState<string | null>(null);
  const action = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    const r = await action.run(() =>
      api<Webhook & { secret: string }>('POST', '/v1/webhooks', { url: url.trim(), events, ...(domainId ? { domainId } : {}) }),
    );
    if (r.ok) {
      setSecret(r.value.secret);
      setUrl('');
      setEvents([]);
      onCreated();
    }
  };
  const toggle = (ev: string, on: boolean) => setEvents(on ? [...events, ev] : events.filter((x) => x !== ev));
  return (
    <>
      {secret ? (
        <div class="secret" role="status">
          <p class="warning">
            <strong>Copy the signing secret now.</strong> It is shown only this once.
          </p>
          <CopyValue text={secret} label="webhook secret" />
          <button type="button" class="secondary" onClick={() => setSecret(null)}>
            I have copied it
          </button>
        </div>
      ) : null}
      <form onSubmit={submit} noValidate>
        <div class="field">
          <label for="wh-url">Endpoint URL</label>
          <input id="wh-url" type="url" value={url} onInput={(e) => setUrl(e.currentTarget.value)} aria-describedby="wh-url-errors" placeholder="https://example.com/hooks/mailwarden" />
          <FieldErrors id="wh-url-errors" error={action.error} field="url" />
        </div>
        <fieldset class="field" aria-describedby="wh-events-errors">
          <legend>Events</legend>
          <div class="checks">
            {(choices.value?.events ?? []).map((ev) => (
              <label key={ev} class="check">
                <input type="checkbox" checked={events.includes(ev)} onChange={(e) => toggle(ev, e.currentTarget.checked)} />
                <code>{ev}</code>
              </label>
            ))}
          </div>
          <FieldErrors id="wh-events-errors" error={action.error} field="events" />
        </fieldset>
        <div class="field">
          <label for="wh-domain">Only for domain</label>
          <select id="wh-domain" value={domainId} onChange={(e) => setDomainId(e.currentTarget.value)}>
            <option value="">every domain</option>
            {(domains.value?.data ?? []).map((d) => (
              <option key={d.id} value={d.id}>
                {d.domain}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" disabled={action.busy}>
          Add webhook
        </button>
        <ErrorNote error={action.error} />
      </form>
    </>
  );
}

export function WebhooksPage() {
  const list = useLoad(() => api<{ data: Webhook[] }>('GET', '/v1/webhooks'), []);
  return (
    <>
      <h1>Webhooks</h1>
      <Section title="Subscriptions" id="webhooks-title">
        <ErrorNote error={list.error} />
        {list.value && !list.value.data.length ? <Empty>No webhooks. Add one to hear about verifications and deliveries.</Empty> : null}
        {list.value?.data.length ? (
          <ul class="rows webhooks">
            {list.value.data.map((w) => (
              <WebhookRow key={w.id} webhook={w} onRemoved={list.reload} />
            ))}
          </ul>
        ) : null}
      </Section>
      <Section title="New webhook" id="new-webhook-title">
        <CreateWebhook onCreated={list.reload} />
      </Section>
    </>
  );
}
