import { createHmac, randomBytes } from 'node:crypto';

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): a symmetric `v1`
 * signature, HMAC-SHA256 over `${msgId}.${timestamp}.${body}`, keyed with the
 * base64 bytes that follow the `whsec_` prefix.
 */

const SECRET_PREFIX = 'whsec_';
const SECRET_BYTES = 24;

/** The three headers a receiver needs to verify a delivery (a type alias, so it fits `Record<string, string>`). */
export type WebhookHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

/** A new signing secret: `whsec_` followed by base64 of 24 random bytes. */
export function generateWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = Buffer.from(encoded, 'base64');
  if (key.length === 0) throw new Error('webhook secret must be whsec_ followed by base64 key bytes');
  return key;
}

/**
 * The `webhook-signature` value: one `v1,<base64>` per secret, space-separated, so a
 * receiver holding either the old or the new secret verifies during rotation.
 */
export function signWebhook(secrets: string[], msgId: string, timestampSeconds: number, body: string): string {
  if (secrets.length === 0) throw new Error('at least one webhook secret is required');
  const content = `${msgId}.${timestampSeconds}.${body}`;
  return secrets
    .map((secret) => `v1,${createHmac('sha256', secretKey(secret)).update(content, 'utf8').digest('base64')}`)
    .join(' ');
}

/** All headers for one delivery attempt; `timestampSeconds` is whole Unix seconds. */
export function webhookHeaders(
  secrets: string[],
  msgId: string,
  timestampSeconds: number,
  body: string,
): WebhookHeaders {
  return {
    'webhook-id': msgId,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': signWebhook(secrets, msgId, timestampSeconds, body),
  };
}
