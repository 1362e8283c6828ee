import { useState } from 'preact/hooks';
import { api, apiChoices } from './api';
import type { Domain, Page } from './types';
import { Badge, ErrorNote, FieldErrors, ListTable, Section, useAction, useLoad } from './ui';

const PAGE = 50;

function AddDomain() {
  const [name, setName] = useState('');
  const [algorithm, setAlgorithm] = useState('');
  const choices = useLoad(() => apiChoices(), []);
  const action = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    const created = await action.run(() =>
      api<Domain>('POST', '/v1/domains', { domain: name.trim(), ...(algorithm ? { dkim: { algorithm } } : {}) }),
    );
    if (created.ok) location.hash = `#/domains/${encodeURIComponent(created.value.id)}`;
  };
  return (
    <form class="inline-form" onSubmit={submit} aria-labelledby="add-domain-title">
      <h3 id="add-domain-title">Add a domain</h3>
      <div class="field">
        <label for="new-domain">Domain</label>
        <input
          id="new-domain"
          name="domain"
          required
          placeholder="example.com"
          autoComplete="off"
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
          aria-describedby="new-domain-errors"
        />
        <FieldErrors id="new-domain-errors" error={action.error} field="domain" />
      </div>
      <div class="field">
        <label for="new-algorithm">DKIM algorithm</label>
        <select id="new-algorithm" name="algorithm" value={algorithm} onChange={(e) => setAlgorithm(e.currentTarget.value)}>
          <option value="">default</option>
          {(choices.value?.algorithms ?? []).map((a) => (
            <option key={a} value={a}>
              {a}
            </option>
          ))}
        </select>
        <FieldErrors id="new-algorithm-errors" error={action.error} field="dkim" />
      </div>
      <button type="submit" disabled={action.busy}>
        Add domain
      </button>
      <ErrorNote error={action.error} />
    </form>
  );
}

export function DomainList() {
  const [pages, setPages] = useState<string[]>(['']);
  const list = useLoad(async () => {
    const out: Domain[] = [];
    let next: string | null = null;
    for (const after of pages) {
      const page: Page<Domain> = await api('GET', `/v1/domains?limit=${PAGE}${after ? `&after=${encodeURIComponent(after)}` : ''}`);
      out.push(...page.data);
      next = page.nextCursor ?? null;
    }
    return { domains: out, next };
  }, [pages.join()]);

  return (
    <>
      <h1>Domains</h1>
      <Section title="Your domains" id="domains-title">
        {list.value === undefined && !list.error ? <p class="loading">Loading…</p> : null}
        <ListTable
          error={list.error}
          items={list.value?.domains}
          empty="No domains yet. Add one below to get the records to publish."
          tableClass="domains"
          columns={['Domain', 'Status', 'Approval', 'Sending']}
          row={(d) => (
            <tr key={d.id}>
              <th scope="row">
                <a href={`#/domains/${encodeURIComponent(d.id)}`}>{d.domain}</a>
              </th>
              <td>
                <Badge value={d.status} />
              </td>
              <td>
                <Badge value={d.approval} />
              </td>
              <td title={d.sending.reason}>
                <Badge value={d.sending.allowed ? 'allowed' : 'not allowed'} />
              </td>
            </tr>
          )}
          onMore={list.value?.next ? () => setPages([...pages, list.value!.next!]) : undefined}
        />
      </Section>
      <Section title="New domain" id="new-domain-title">
        <AddDomain />
      </Section>
    </>
  );
}
