import { useState } from 'preact/hooks';
import { api, ApiError, enc } from './api';
import type { Domain } from './types';
import { Badge, CopyValue, Empty, ErrorNote, FieldErrors, Section, useAction, useLoad, when } from './ui';

interface SmtpUser {
  username: string;
  createdAt: string;
}

export function SmtpUsers({ domain }: { domain: Domain }) {
  const users = useLoad(() => api<{ data: SmtpUser[] }>('GET', `/v1/domains/${enc(domain.id)}/smtp-users`), [domain.id]);
  const [created, setCreated] = useState<{ username: string; password: string } | null>(null);
  const action = useAction();
  const create = async () => {
    const r = await action.run(() => api<{ username: string; password: string }>('POST', `/v1/domains/${enc(domain.id)}/smtp-users`, {}));
    if (r.ok) {
      setCreated(r.value);
      users.reload();
    }
  };
  const remove = async (username: string) => {
    const r = await action.run(() => api('DELETE', `/v1/domains/${enc(domain.id)}/smtp-users/${enc(username)}`));
    if (r.ok) users.reload();
  };
  return (
    <Section
      title="SMTP users"
      id="smtp-users-title"
      actions={
        <button type="button" onClick={create} disabled={action.busy}>
          Create SMTP user
        </button>
      }
    >
      {created ? (
        <div class="secret" role="status" data-testid="smtp-password">
          <p class="warning">
            <strong>Copy the password now.</strong> It is shown only this once; mailwarden keeps only a hash of it.
          </p>
          <dl class="facts">
            <dt>Username</dt>
            <dd>
              <CopyValue text={created.username} label="SMTP username" />
            </dd>
            <dt>Password</dt>
            <dd>
              <CopyValue text={created.password} label="SMTP password" />
            </dd>
          </dl>
          <button type="button" class="secondary" onClick={() => setCreated(null)}>
            I have copied it
          </button>
        </div>
      ) : null}
      <ErrorNote error={users.error ?? action.error} />
      {users.value && !users.value.data.length ? <Empty>No SMTP users. Create one to send through the relay.</Empty> : null}
      {users.value?.data.length ? (
        <ul class="rows">
          {users.value.data.map((u) => (
            <li key={u.username}>
              <code>{u.username}</code>
              <span class="muted small">created {when(u.createdAt)}</span>
              <button type="button" class="secondary" onClick={() => remove(u.username)} aria-label={`Remove SMTP user ${u.username}`}>
                Remove
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </Section>
  );
}

/** An IPv4 or IPv6 address, optionally with a prefix length: the form's first check; the API has the last word. */
const CIDR_SHAPE = /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)(?:\/\d{1,3})?$/;

export function AllowedIps({ domain, refresh }: { domain: Domain; refresh: () => void }) {
  const [text, setText] = useState(domain.allowedIps.join('\n'));
  const action = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    const cidrs = text
      .split(/[\s,]+/)
      .map((s) => s.trim())
      .filter(Boolean);
    const bad = cidrs.map((c, i) => ({ c, i })).filter(({ c }) => !CIDR_SHAPE.test(c));
    if (bad.length) {
      action.setError(new ApiError(400, 'some entries are not IP addresses or CIDRs', bad.map(({ c, i }) => ({ field: `cidrs.${i}`, message: `"${c}" is not an IP address or CIDR` }))));
      return;
    }
    const r = await action.run(() => api<{ cidrs: string[] }>('PUT', `/v1/domains/${enc(domain.id)}/allowed-ips`, { cidrs }));
    if (r.ok) {
      setText(r.value.cidrs.join('\n'));
      refresh();
    }
  };
  const invalid = action.error instanceof ApiError && action.error.about('cidrs').length > 0;
  return (
    <Section title="Allowed IPs" id="allowed-ips-title">
      <form onSubmit={submit} noValidate>
        <div class="field">
          <label for="allowed-ips">Addresses and networks that may connect to the relay, one per line</label>
          <textarea
            id="allowed-ips"
            rows={4}
            spellcheck={false}
            value={text}
            placeholder={'192.0.2.10\n2001:db8::/48'}
            onInput={(e) => setText(e.currentTarget.value)}
            aria-invalid={invalid}
            aria-describedby="allowed-ips-help allowed-ips-errors"
          />
          <p id="allowed-ips-help" class="help">
            IPv4 or IPv6, a bare address or a CIDR. An empty list lets nobody connect.
          </p>
          <FieldErrors id="allowed-ips-errors" error={action.error} field="cidrs" />
        </div>
        <button type="submit" disabled={action.busy}>
          Save allowed IPs
        </button>
        {!invalid ? <ErrorNote error={action.error} /> : null}
      </form>
    </Section>
  );
}

const ANSWERS = [
  ['subscriberListStrategy', 'How do you build your recipient list?'],
  ['bounceHandling', 'How do you handle bounces?'],
  ['unsubscribeMethod', 'How do recipients unsubscribe?'],
  ['sendingRateRationale', 'How much do you send, and why?'],
  ['listHygiene', 'How do you keep your list clean?'],
  ['htmlValidationProcess', 'How do you check your HTML?'],
] as const;

type Answers = Record<string, string | boolean>;

function initialAnswers(domain: Domain): Answers {
  const q = (domain.questionnaire ?? {}) as Record<string, unknown>;
  const out: Answers = {
    nature: String(q.nature ?? 'transactional'),
    websiteUrl: String(q.websiteUrl ?? ''),
    contactEmails: Array.isArray(q.contactEmails) ? q.contactEmails.join(', ') : '',
    replyTo: String(q.replyTo ?? ''),
    consentStatement: q.consentStatement === true,
    unsubscribeLinkAgreement: q.unsubscribeLinkAgreement === true,
  };
  for (const [name] of ANSWERS) out[name] = String(q[name] ?? '');
  return out;
}

export function Questionnaire({ domain, refresh }: { domain: Domain; refresh: () => void }) {
  const [answers, setAnswers] = useState<Answers>(() => initialAnswers(domain));
  const [sent, setSent] = useState(false);
  const action = useAction();
  const set = (name: string, value: string | boolean) => setAnswers({ ...answers, [name]: value });
  const text = (name: string) => String(answers[name]);
  const submit = async (e: Event) => {
    e.preventDefault();
    const body = {
      ...answers,
      contactEmails: text('contactEmails')
        .split(/[\s,]+/)
        .filter(Boolean),
    };
    const r = await action.run(() => api('PUT', `/v1/domains/${enc(domain.id)}/questionnaire`, body));
    setSent(r.ok);
    if (r.ok) refresh();
  };
  const field = (name: string, label: string, input: preact.JSX.Element) => (
    <div class="field" key={name}>
      <label for={`q-${name}`}>{label}</label>
      {input}
      <FieldErrors id={`q-${name}-errors`} error={action.error} field={name} />
    </div>
  );
  const common = (name: string) => ({
    id: `q-${name}`,
    name,
    value: text(name),
    'aria-describedby': `q-${name}-errors`,
    onInput: (e: Event) => set(name, (e.currentTarget as HTMLInputElement).value),
  });
  return (
    <Section title="Sending questionnaire" id="questionnaire-title">
      <p>
        Approval: <Badge value={domain.approval} />
        {domain.review?.reason ? <span class="muted"> — reviewer: {domain.review.reason}</span> : null}
      </p>
      <form class="questionnaire" onSubmit={submit} noValidate>
        {field(
          'nature',
          'What do you send?',
          <select id="q-nature" value={text('nature')} onChange={(e) => set('nature', e.currentTarget.value)}>
            <option value="transactional">transactional</option>
            <option value="marketing">marketing</option>
          </select>,
        )}
        {field('websiteUrl', 'Website', <input type="url" {...common('websiteUrl')} placeholder="https://example.com" />)}
        {ANSWERS.map(([name, label]) => field(name, label, <textarea rows={2} {...common(name)} />))}
        {field('contactEmails', 'Contact addresses (up to 4, comma-separated)', <input {...common('contactEmails')} />)}
        {field('replyTo', 'Reply-To address', <input type="email" {...common('replyTo')} />)}
        {(['consentStatement', 'unsubscribeLinkAgreement'] as const).map((name) => (
          <div class="field check" key={name}>
            <input
              type="checkbox"
              id={`q-${name}`}
              checked={answers[name] === true}
              onChange={(e) => set(name, e.currentTarget.checked)}
              aria-describedby={`q-${name}-errors`}
            />
            <label for={`q-${name}`}>
              {name === 'consentStatement'
                ? 'I send only to recipients who asked for my mail, and I handle bounces and complaints.'
                : 'Every message I send carries an unsubscribe link.'}
            </label>
            <FieldErrors id={`q-${name}-errors`} error={action.error} field={name} />
          </div>
        ))}
        <button type="submit" disabled={action.busy}>
          Submit for review
        </button>
        {sent ? <p role="status">Submitted: a reviewer will look at it.</p> : null}
        <ErrorNote error={action.error} />
      </form>
    </Section>
  );
}
