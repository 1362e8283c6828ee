import { useState } from 'preact/hooks';
import { api, enc } from './api';
import type { Page, Suppression } from './types';
import { Badge, ErrorNote, FieldErrors, ListTable, Section, useAction, useLoad, when } from './ui';

const PAGE = 50;

export function SuppressionsPage() {
  const [after, setAfter] = useState<string[]>(['']);
  const list = useLoad(async () => {
    const out: Suppression[] = [];
    let next: string | null = null;
    for (const cursor of after) {
      const page: Page<Suppression> = await api('GET', `/v1/suppressions?limit=${PAGE}${cursor ? `&after=${enc(cursor)}` : ''}`);
      out.push(...page.data);
      next = page.nextCursor ?? null;
    }
    return { entries: out, next };
  }, [after.join()]);
  const [address, setAddress] = useState('');
  const [expiresAt, setExpiresAt] = useState('');
  const action = useAction();
  const add = async (e: Event) => {
    e.preventDefault();
    const body = expiresAt ? { expiresAt: new Date(expiresAt).toISOString() } : {};
    const r = await action.run(() => api('PUT', `/v1/suppressions/${enc(address.trim())}`, body));
    if (r.ok) {
      setAddress('');
      setExpiresAt('');
      list.reload();
    }
  };
  const remove = async (a: string) => {
    const r = await action.run(() => api('DELETE', `/v1/suppressions/${enc(a)}`));
    if (r.ok) list.reload();
  };
  return (
    <>
      <h1>Suppressions</h1>
      <Section title="Suppressed addresses" id="suppressions-title">
        <p class="help">The relay refuses these recipients (550 5.1.1). Hard bounces and complaints add them.</p>
        <ListTable
          error={list.error}
          items={list.value?.entries}
          empty="No address is suppressed."
          columns={['Address', 'Reason', 'Reply', 'Added', 'Expires', <span class="visually-hidden">Actions</span>]}
          row={(s) => (
            <tr key={s.address}>
              <th scope="row">
                <code>{s.address}</code>
              </th>
              <td>
                <Badge value={s.reason} />
              </td>
              <td>{s.reply ? `${s.reply.code} ${s.reply.enhanced ?? ''} ${s.reply.message}` : '—'}</td>
              <td>{when(s.createdAt)}</td>
              <td>{s.expiresAt ? when(s.expiresAt) : 'never'}</td>
              <td>
                <button type="button" class="secondary" onClick={() => remove(s.address)} aria-label={`Remove ${s.address}`}>
                  Remove
                </button>
              </td>
            </tr>
          )}
          onMore={list.value?.next ? () => setAfter([...after, list.value!.next!]) : undefined}
        />
      </Section>
      <Section title="Suppress an address" id="add-suppression-title">
        <form class="inline-form" onSubmit={add} noValidate>
          <div class="field">
            <label for="sup-address">Address</label>
            <input id="sup-address" type="email" value={address} onInput={(e) => setAddress(e.currentTarget.value)} aria-describedby="sup-address-errors" />
            <FieldErrors id="sup-address-errors" error={action.error} field="address" />
          </div>
          <div class="field">
            <label for="sup-expires">Until (optional)</label>
            <input id="sup-expires" type="datetime-local" value={expiresAt} onInput={(e) => setExpiresAt(e.currentTarget.value)} aria-describedby="sup-expires-errors" />
            <FieldErrors id="sup-expires-errors" error={action.error} field="expiresAt" />
          </div>
          <button type="submit" disabled={action.busy}>
            Suppress
          </button>
        </form>
        <ErrorNote error={action.error} />
      </Section>
    </>
  );
}
