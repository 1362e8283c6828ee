import { z } from 'zod';
import { createAccountBody } from './routes/accounts.routes';
import { questionnaireSchema, reviewDecisionBody } from './routes/approval.routes';
import { createDomainBody } from './routes/domains.routes';

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
            questionnaire: { type: 'object', description: 'the submitted answers, with submittedAt' },
            review: {
              type: 'object',
              description: 'the latest admin decision',
              properties: { reason: { type: ['string', 'null'] }, reviewedAt: { type: 'string' }, approvedAt: { type: ['string', 'null'] } },
            },
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
        delete: { summary: 'Delete a domain and stop its checks', parameters: [idParam], responses: { 204: ok('deleted'), ...errors } },
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
      '/healthz': { get: { security: [], summary: 'Liveness', responses: { 200: ok('alive') } } },
      '/readyz': { get: { security: [], summary: 'Readiness: MongoDB and Redis answer', responses: { 200: ok('ready'), 503: problem } } },
      '/metrics': { get: { security: [], summary: 'Prometheus metrics', responses: { 200: ok('text exposition format') } } },
      '/openapi.json': { get: { security: [], summary: 'This document', responses: { 200: ok('OpenAPI 3.1') } } },
    },
  };
}
