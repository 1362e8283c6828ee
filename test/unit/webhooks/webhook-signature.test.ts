import { Webhook } from 'standardwebhooks';
import { generateWebhookSecret, signWebhook, webhookHeaders } from '../../../src/webhooks/webhook-signature';

const now = () => Math.floor(Date.now() / 1000);
const body = JSON.stringify({ type: 'domain.verified', data: { domain: 'example.com' } });

describe('webhook signature', () => {
  it('generates whsec_ secrets of 24 random bytes', () => {
    const a = generateWebhookSecret();
    const b = generateWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(a.slice('whsec_'.length), 'base64')).toHaveLength(24);
    expect(a).not.toBe(b);
  });

  it('is verified by the independent standardwebhooks package', () => {
    const secret = generateWebhookSecret();
    const headers = webhookHeaders([secret], 'msg_1', now(), body);
    expect(headers['webhook-id']).toBe('msg_1');
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
  });

  it('matches the reference signature byte for byte', () => {
    const secret = generateWebhookSecret();
    const ts = now();
    expect(signWebhook([secret], 'msg_2', ts, body)).toBe(new Webhook(secret).sign('msg_2', new Date(ts * 1000), body));
  });

  it('verifies with either secret during rotation', () => {
    const oldSecret = generateWebhookSecret();
    const newSecret = generateWebhookSecret();
    const headers = webhookHeaders([newSecret, oldSecret], 'msg_3', now(), body);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(() => new Webhook(oldSecret).verify(body, { ...headers })).not.toThrow();
    expect(() => new Webhook(newSecret).verify(body, { ...headers })).not.toThrow();
    expect(() => new Webhook(generateWebhookSecret()).verify(body, { ...headers })).toThrow();
  });

  it('fails verification for a tampered body, id or timestamp', () => {
    const secret = generateWebhookSecret();
    const ts = now();
    const headers = webhookHeaders([secret], 'msg_4', ts, body);
    const wh = new Webhook(secret);
    expect(() => wh.verify(body.replace('example.com', 'evil.example'), { ...headers })).toThrow();
    expect(() => wh.verify(body, { ...headers, 'webhook-id': 'msg_5' })).toThrow();
    expect(() => wh.verify(body, { ...headers, 'webhook-timestamp': String(ts + 1) })).toThrow();
  });

  it('refuses to sign without a secret', () => {
    expect(() => signWebhook([], 'msg_6', now(), body)).toThrow(/at least one/);
  });
});
