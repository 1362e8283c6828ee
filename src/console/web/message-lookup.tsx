import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, enc } from './api';
import type { Message } from './types';
import { Badge, ErrorNote, Section, useAction, when } from './ui';

export function MessageLookup({ initial }: { initial: string }) {
  const [queueId, setQueueId] = useState(initial);
  const [message, setMessage] = useState<Message | null>(null);
  const action = useAction();
  const look = async (id: string) => {
    setMessage(null);
    const r = await action.run(() => api<Message>('GET', `/v1/messages/${enc(id)}`));
    if (r.ok) setMessage(r.value);
  };
  useEffect(() => {
    if (initial) void look(initial);
  }, [initial]);
  const submit = (e: Event) => {
    e.preventDefault();
    const id = queueId.trim();
    if (!id) return;
    // The queue id goes into the fragment so the lookup can be bookmarked; the key never does.
    location.hash = `#/messages/${enc(id)}`;
    if (id === initial) void look(id);
  };
  const notFound = action.error instanceof ApiError && action.error.status === 404;
  return (
    <>
      <h1>Messages</h1>
      <Section title="Look up a message" id="lookup-title">
        <form class="inline-form" onSubmit={submit}>
          <div class="field">
            <label for="queue-id">Queue id</label>
            <input id="queue-id" value={queueId} onInput={(e) => setQueueId(e.currentTarget.value)} spellcheck={false} autoComplete="off" />
          </div>
          <button type="submit" disabled={action.busy}>
            Look up
          </button>
        </form>
        {notFound ? <p class="empty">No message with that queue id in your account.</p> : <ErrorNote error={action.error} />}
      </Section>
      {message ? (
        <Section title={`Message ${message.queueId}`} id="message-title">
          <div class="badges">
            <span>
              Status <Badge value={message.status} />
            </span>
          </div>
          {message.hold ? <p class="note">Held since {when(message.hold.since)}: {message.hold.reason}</p> : null}
          <dl class="facts">
            <dt>From</dt>
            <dd>
              <code>{message.envelope.from}</code>
            </dd>
            <dt>Domain</dt>
            <dd>{message.domain}</dd>
            <dt>Size</dt>
            <dd>{message.size} bytes</dd>
            <dt>Received</dt>
            <dd>{when(message.createdAt)}</dd>
            <dt>Delivered</dt>
            <dd>{when(message.deliveredAt)}</dd>
          </dl>
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Recipient</th>
                  <th scope="col">Status</th>
                  <th scope="col">Reply</th>
                  <th scope="col">Server</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                {message.recipients.map((r) => (
                  <tr key={r.address}>
                    <th scope="row">
                      <code>{r.address}</code>
                    </th>
                    <td>
                      <Badge value={r.status} />
                    </td>
                    <td>{r.reply ? `${r.reply.code} ${r.reply.enhanced ?? ''} ${r.reply.message}` : (r.reason ?? '—')}</td>
                    <td>{r.remoteHost ?? '—'}</td>
                    <td>{r.attempts}</td>
                    <td>{when(r.updatedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </Section>
      ) : null}
    </>
  );
}
