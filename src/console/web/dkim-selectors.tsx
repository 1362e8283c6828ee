import { useState } from 'preact/hooks';
import { api, apiChoices, enc } from './api';
import { hostLabel } from './host-labels';
import { zoneOf } from './records';
import type { Domain, DomainRecord } from './types';
import { Badge, ErrorNote, Section, useAction, useLoad, when } from './ui';

/** What the owner does about a selector in its state: nothing, wait, or delete its record. */
function SelectorNote({ record, host }: { record: DomainRecord; host: string }) {
  if (record.safeToRemove)
    return (
      <span class="note" data-testid="safe-to-remove">
        Safe to remove: delete the TXT record at host <code>{host}</code>
      </span>
    );
  if (record.state === 'retiring' && record.retiresAt)
    return (
      <span class="muted">
        Still published for mail in flight; retires <time dateTime={record.retiresAt}>{when(record.retiresAt)}</time>
      </span>
    );
  if (record.state === 'pending') return <span class="muted">Publish its record (above) on every nameserver: it signs once it passes everywhere.</span>;
  if (record.state === 'active') return <span class="muted">Signs outgoing mail.</span>;
  return null;
}

/** The domain's DKIM selectors with their rotation state; rotate (with an algorithm), or cancel a pending rotation. */
export function DkimRotation({ domain, refresh }: { domain: Domain; refresh: () => void }) {
  const action = useAction();
  const choices = useLoad(() => apiChoices(), []);
  const [algorithm, setAlgorithm] = useState('');
  const zone = zoneOf(domain);
  const dkim = domain.records.filter((r) => r.purpose === 'dkim');
  const pending = dkim.find((r) => r.state === 'pending');
  const rotate = async (e: Event) => {
    e.preventDefault();
    const r = await action.run(() => api('POST', `/v1/domains/${enc(domain.id)}/dkim/rotate`, algorithm ? { algorithm } : {}));
    if (r.ok) refresh();
  };
  const cancel = async () => {
    if (!confirm(`Cancel the rotation to selector ${pending?.selector ?? ''}? Its new key is discarded.`)) return;
    // A 409 (nothing pending any more, or the rotation already took effect) stays on screen; the refresh shows why.
    await action.run(() => api('DELETE', `/v1/domains/${enc(domain.id)}/dkim/rotation`));
    refresh();
  };
  return (
    <Section title="DKIM selectors" id="dkim-title">
      <div class="table-wrap">
        <table class="selectors">
          <caption class="visually-hidden">The domain's DKIM selectors and their place in a key rotation</caption>
          <thead>
            <tr>
              <th scope="col">Selector</th>
              <th scope="col">Host</th>
              <th scope="col">Algorithm</th>
              <th scope="col">State</th>
              <th scope="col">Verdict</th>
              <th scope="col">What to do</th>
            </tr>
          </thead>
          <tbody>
            {dkim.map((r) => {
              const host = hostLabel(r, zone);
              return (
                <tr key={r.selector ?? r.name} data-selector={r.selector} data-state={r.state}>
                  <th scope="row">
                    <code>{r.selector ?? r.name}</code>
                  </th>
                  <td>
                    <code>{host}</code>
                  </td>
                  <td>{r.algorithm ?? '—'}</td>
                  <td>{r.state ? <Badge value={r.state} /> : <span class="muted">—</span>}</td>
                  <td>
                    <Badge value={r.status} />
                  </td>
                  <td>
                    <SelectorNote record={r} host={host} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <form class="inline-form section-form" onSubmit={rotate}>
        <div class="field">
          <label for="dkim-algorithm">New key's algorithm</label>
          <select id="dkim-algorithm" value={algorithm} onChange={(e) => setAlgorithm(e.currentTarget.value)}>
            <option value="">same as the active key</option>
            {(choices.value?.rotationAlgorithms ?? []).map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
        </div>
        <div class="actions">
          <button type="submit" disabled={action.busy}>
            Rotate DKIM key
          </button>
          {pending ? (
            <button type="button" class="secondary" disabled={action.busy} onClick={cancel}>
              Cancel rotation
            </button>
          ) : null}
        </div>
        <ErrorNote error={action.error} id="dkim-rotation-error" />
      </form>
    </Section>
  );
}
