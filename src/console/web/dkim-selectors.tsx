import { api, enc } from './api';
import type { Domain } from './types';
import { Badge, ErrorNote, Section, useAction } from './ui';

/** The domain's DKIM selectors with their rotation state; rotate, or cancel a pending rotation. */
export function DkimRotation({ domain, refresh }: { domain: Domain; refresh: () => void }) {
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
