import { randomBytes } from 'node:crypto';
import type { MessageDoc } from '../../src/messages/message.model';
import { queuedRecipients } from '../../src/messages/recipient-status';
import request from 'supertest';
import type { Express } from 'express';
import { expectMatchesDocument } from './openapi';
import { ADMIN_KEY } from './services';

export interface TestAccount {
  id: string;
  apiKey: string;
  auth: { Authorization: string };
}

/** Creates an account through the API, as an operator would. */
export async function createAccount(app: Express, name = 'Acme'): Promise<TestAccount> {
  const res = await request(app).post('/v1/accounts').set('Authorization', `Bearer ${ADMIN_KEY}`).send({ name }).expect(201);
  await expectMatchesDocument(app, res);
  return { id: res.body.id, apiKey: res.body.apiKey, auth: { Authorization: `Bearer ${res.body.apiKey}` } };
}

/** Registers a domain through the API and returns the resource. */
export async function registerDomain(app: Express, account: TestAccount, domain: string, algorithm?: string) {
  const body = algorithm ? { domain, dkim: { algorithm } } : { domain };
  const res = await request(app).post('/v1/domains').set(account.auth).send(body).expect(201);
  await expectMatchesDocument(app, res);
  return res.body;
}

/** A message as the relay spools it: every recipient `queued` (the delivery tests insert it themselves). */
export function spooledMessage(m: {
  accountId: string;
  domain: { id: string; domain: string };
  to: string[];
  raw: Buffer | string;
  id?: string;
  at?: Date;
}): MessageDoc {
  const raw = Buffer.from(m.raw);
  const at = m.at ?? new Date();
  return {
    _id: m.id ?? randomBytes(9).toString('base64url'),
    accountId: m.accountId,
    domainId: m.domain.id,
    domain: m.domain.domain,
    username: 'sender',
    envelope: { from: `sender@${m.domain.domain}`, to: [...m.to] },
    recipients: queuedRecipients(m.to, at),
    raw,
    size: raw.length,
    status: 'queued',
    attempts: [],
    captured: null,
    createdAt: at,
    updatedAt: at,
    deliveredAt: null,
  };
}
