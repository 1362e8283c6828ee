import { z } from 'zod';
import { createAccountBody } from '../accounts/accounts.router';
import { allowedIpsBody } from '../allowed-ips/allowed-ips.router';
import { questionnaireSchema, reviewDecisionBody } from '../approval/approval.router';
import { createDomainBody } from '../domains/domains.router';
import { createWebhookBody } from '../webhooks/webhooks.router';
import { createSmtpUserBody } from '../smtp-users/smtp-users.router';

const json = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });

const problem = {
  description: 'RFC 9457 problem',
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
};
const errors = { 400: problem, 401: problem, 403: problem, 404: problem };
const ok = (description: string, ref?: string) => ({
  description,
  ...(ref ? { content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } } } : {}),
});
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };

/** The OpenAPI 3.1 document of the routes this build serves. */
export function openApiDocument(version: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: { title: 'mailwarden', version, description: 'Sending-domain verification (SPF, DKIM) and a policy-gated SMTP relay.' },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'detail'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            errors: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } } },
          },
        },
        CreateAccount: json(createAccountBody),
        Account: {
          type: 'object',
          properties: { id: { type: 'string' }, name: { type: 'string' }, apiKey: { type: 'string', description: 'shown once' } },
        },
        CreateDomain: json(createDomainBody),
        Questionnaire: json(questionnaireSchema),
        ReviewDecision: json(reviewDecisionBody),
        CreateSmtpUser: json(createSmtpUserBody),
        SmtpUserCreated: {
          type: 'object',
          required: ['username', 'password', 'createdAt'],
          properties: {
            username: { type: 'string', pattern: '^mw[a-z2-7]{16}$' },
            password: { type: 'string', minLength: 24, description: 'shown once; only a scrypt hash is stored' },
            createdAt: { type: 'string', format: 'date-time' },
          },
        },
        SmtpUserList: {
          type: 'object',
          properties: {
            data: {
              type: 'array',
              maxItems: 5,
              items: { type: 'object', properties: { username: { type: 'string' }, createdAt: { type: 'string', format: 'date-time' } } },
            },
          },
        },
        AllowedIps: json(allowedIpsBody),
        Domain: {
          type: 'object',
          required: ['id', 'domain', 'status', 'approval', 'sending', 'records', 'dmarc', 'verification'],
          properties: {
            id: { type: 'string' },
            domain: { type: 'string' },
            status: { enum: ['pending', 'verified', 'failed', 'suspended'] },
            approval: { enum: ['not_submitted', 'pending_review', 'approved', 'rejected'] },
            sending: { type: 'object', properties: { allowed: { type: 'boolean' }, reason: { type: 'string' } } },
            records: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  purpose: { enum: ['spf', 'dkim'] },
                  type: { const: 'TXT' },
                  name: { type: 'string' },
                  selector: { type: 'string' },
                  value: { type: 'string' },
                  strings: { type: 'array', items: { type: 'string', maxLength: 255 } },
                  status: { enum: ['pass', 'fail', 'temperror', 'pending'] },
                  found: { type: 'array', items: { type: 'string' } },
                  reason: { type: ['string', 'null'] },
                  nameservers: { type: 'array', items: { type: 'object' } },
                },
              },
            },
            dmarc: { type: 'object' },
            verification: { type: 'object' },
            allowedIps: { type: 'array', items: { type: 'string' }, description: 'CIDRs that may connect to the relay; [] lets nobody in' },
            questionnaire: { type: 'object', description: 'the submitted answers, with submittedAt' },
            review: {
              type: 'object',
              description: 'the latest admin decision',
              properties: { reason: { type: ['string', 'null'] }, reviewedAt: { type: 'string' }, approvedAt: { type: ['string', 'null'] } },
            },
          },
        },
        Message: {
          type: 'object',
          required: ['queueId', 'status', 'hold', 'domain', 'envelope', 'size', 'attempts', 'createdAt', 'deliveredAt'],
          properties: {
            queueId: { type: 'string' },
            status: { enum: ['queued', 'sending', 'delivered', 'deferred', 'held', 'failed'] },
            hold: {
              type: ['object', 'null'],
              description: 'why the message is held: its domain may not send now (suspended, rejected, ...); retried until it may, failed after the retry window',
              properties: { reason: { type: 'string' }, since: { type: 'string', format: 'date-time' } },
            },
            domain: { type: 'string' },
            envelope: { type: 'object', properties: { from: { type: 'string' }, to: { type: 'array', items: { type: 'string' } } } },
            size: { type: 'integer' },
            attempts: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  at: { type: 'string', format: 'date-time' },
                  status: { enum: ['delivered', 'deferred', 'held', 'failed'] },
                  code: { type: ['integer', 'null'], description: 'SMTP reply code of the next hop' },
                  response: { type: ['string', 'null'] },
                  durationMs: { type: 'integer' },
                },
              },
            },
            createdAt: { type: 'string', format: 'date-time' },
            deliveredAt: { type: ['string', 'null'], format: 'date-time' },
          },
        },
        DomainPage: {
          type: 'object',
          properties: { data: { type: 'array', items: { $ref: '#/components/schemas/Domain' } }, nextCursor: { type: ['string', 'null'] } },
        },
      },
    },
    security: [{ bearer: [] }],
    paths: {
      '/v1/accounts': {
        post: {
          summary: 'Create an account (admin key)',
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/CreateAccount' } } } },
          responses: { 201: ok('account with its API key, shown once', 'Account'), ...errors },
        },
      },
      '/v1/domains': {
        post: {
          summary: 'Register a sending domain; issues a DKIM key pair and the SPF value',
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/CreateDomain' } } } },
          responses: { 201: ok('the domain resource', 'Domain'), 409: problem, 413: problem, ...errors },
        },
        get: {
          summary: "List the account's domains",
          parameters: [
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 50 } },
            { name: 'after', in: 'query', schema: { type: 'string' }, description: 'nextCursor of the previous page' },
          ],
          responses: { 200: ok('a page of domains', 'DomainPage'), ...errors },
        },
      },
      '/v1/domains/{id}': {
        get: {
          summary: 'Domain status (ETag; 304 on If-None-Match)',
          parameters: [idParam],
          responses: { 200: ok('the domain resource', 'Domain'), 304: { description: 'not modified' }, ...errors },
        },
        delete: { summary: 'Delete a domain, stop its checks and remove its SMTP users', parameters: [idParam], responses: { 204: ok('deleted'), ...errors } },
      },
      '/v1/domains/{id}/questionnaire': {
        put: {
          summary: "Submit the seed's questionnaire; the domain awaits review (approval: pending_review)",
          parameters: [idParam],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/Questionnaire' } } } },
          responses: { 200: ok('the domain resource', 'Domain'), ...errors },
        },
      },
      '/v1/admin/domains/{id}/approve': {
        post: {
          summary: "Approve sending for any account's domain (admin key)",
          parameters: [idParam],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/ReviewDecision' } } } },
          responses: { 200: ok('the domain resource', 'Domain'), ...errors },
        },
      },
      '/v1/admin/domains/{id}/reject': {
        post: {
          summary: "Reject sending for any account's domain, or revoke an approval (admin key); 409 before any questionnaire or approval",
          parameters: [idParam],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/ReviewDecision' } } } },
          responses: { 200: ok('the domain resource', 'Domain'), 409: problem, ...errors },
        },
      },
      '/v1/domains/{id}/smtp-users': {
        post: {
          summary: 'Create an SMTP user with a generated username and password (the password is shown only here); 409 past 5 per domain',
          parameters: [idParam],
          requestBody: { required: false, content: { 'application/json': { schema: { $ref: '#/components/schemas/CreateSmtpUser' } } } },
          responses: { 201: ok('the new user and its password', 'SmtpUserCreated'), 409: problem, ...errors },
        },
        get: {
          summary: "List the domain's SMTP users (never a password)",
          parameters: [idParam],
          responses: { 200: ok('the users', 'SmtpUserList'), ...errors },
        },
      },
      '/v1/domains/{id}/smtp-users/{username}': {
        delete: {
          summary: 'Delete an SMTP user',
          parameters: [idParam, { name: 'username', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { 204: ok('deleted'), ...errors },
        },
      },
      '/v1/domains/{id}/allowed-ips': {
        get: {
          summary: 'The IP allowlist for relay connections ([] by default: nobody)',
          parameters: [idParam],
          responses: { 200: ok('the normalised CIDRs', 'AllowedIps'), ...errors },
        },
        put: {
          summary: 'Replace the IP allowlist (IPv4 and IPv6 CIDRs or bare addresses; at most 50)',
          parameters: [idParam],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/AllowedIps' } } } },
          responses: { 200: ok('the normalised, deduplicated CIDRs', 'AllowedIps'), 503: problem, ...errors },
        },
      },
      '/v1/messages/{queueId}': {
        get: {
          summary: 'Message status and every delivery attempt',
          parameters: [{ name: 'queueId', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { 200: ok('the message resource', 'Message'), ...errors },
        },
      },
      '/v1/messages/{queueId}/raw': {
        get: {
          summary: 'The DKIM-signed message as delivered (DELIVERY_MODE=capture); 404 until captured',
          parameters: [{ name: 'queueId', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { 200: { description: 'the message', content: { 'message/rfc822': { schema: { type: 'string' } } } }, ...errors },
        },
      },
      '/v1/policy': {
        get: {
          summary: "The relay's decision for a sender address",
          parameters: [{ name: 'sender', in: 'query', required: true, schema: { type: 'string' } }],
          responses: { 200: ok('{allowed, reason}'), ...errors },
        },
      },
      '/v1/webhooks': {
        post: {
          summary: 'Subscribe to events; the whsec_ secret is returned only here',
          requestBody: { required: true, content: { 'application/json': { schema: json(createWebhookBody) } } },
          responses: { 201: ok('{id, url, events, domainId, status, secret}'), ...errors },
        },
        get: { summary: "The account's subscriptions", responses: { 200: ok('{data: [...]}'), ...errors } },
      },
      '/v1/webhooks/{id}': { delete: { summary: 'Remove a subscription', parameters: [idParam], responses: { 204: ok('deleted'), ...errors } } },
      '/v1/webhooks/{id}/deliveries': {
        get: { summary: 'Every delivery attempt, newest first', parameters: [idParam], responses: { 200: ok('{data, nextCursor}'), ...errors } },
      },
      '/v1/webhooks/{id}/test': { post: { summary: 'Send a webhook.test event', parameters: [idParam], responses: { 202: ok('{eventId}'), ...errors } } },
      '/v1/webhooks/{id}/rotate-secret': {
        post: { summary: 'New secret; the old one signs too for 24 h', parameters: [idParam], responses: { 200: ok('{id, secret, previousSecretExpiresAt}'), ...errors } },
      },
      '/v1/webhooks/{id}/enable': { post: { summary: 'Re-enable a disabled subscription', parameters: [idParam], responses: { 200: ok('the subscription'), ...errors } } },
      '/healthz': { get: { security: [], summary: 'Liveness', responses: { 200: ok('alive') } } },
      '/readyz': { get: { security: [], summary: 'Readiness: MongoDB and Redis answer', responses: { 200: ok('ready'), 503: problem } } },
      '/metrics': { get: { security: [], summary: 'Prometheus metrics (served on METRICS_PORT instead when that is set)', responses: { 200: ok('text exposition format') } } },
      '/openapi.json': { get: { security: [], summary: 'This document', responses: { 200: ok('OpenAPI 3.1') } } },
    },
  };
}
