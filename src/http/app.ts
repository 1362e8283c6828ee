import express, { type Express } from 'express';
import type { DomainStore } from '../domains/domain.store';
import { policyRoutes } from '../sending-policy/policy.router';
import { webhooksRoutes } from '../webhooks/webhooks.router';
import type { WebhookService } from '../webhooks/webhook.service';
import type { WebhookStore } from '../webhooks/webhook.store';
import type { AccountService } from '../accounts/account.service';
import type { AllowedIpService } from '../allowed-ips/allowed-ip.service';
import type { ApprovalService } from '../approval/approval.service';
import type { SmtpUserService } from '../smtp-users/smtp-user.service';
import type { DomainService } from '../domains/domain.service';
import type { Logger } from '../logger';
import { authenticate } from './auth';
import type { HttpMetrics } from './metrics';
import { openApiDocument } from './openapi';
import { notFoundHandler, problemHandler } from './problem';
import { accountsRoutes } from '../accounts/accounts.router';
import { allowedIpsRoutes } from '../allowed-ips/allowed-ips.router';
import { approvalRoutes } from '../approval/approval.router';
import { domainsRoutes } from '../domains/domains.router';
import { lifecycleRoutes } from '../domains/lifecycle.router';
import { messagesRoutes } from '../messages/messages.router';
import type { MessageStore } from '../messages/message.store';
import { smtpUsersRoutes } from '../smtp-users/smtp-users.router';
import type { LifecycleService } from '../domains/lifecycle.service';
import type { CheckStore } from '../verification/check.store';
import { healthRoutes, type Probe } from './health.router';

export interface HttpDeps {
  logger: Logger;
  accounts: AccountService;
  domains: DomainService;
  approval: ApprovalService;
  smtpUsers: SmtpUserService;
  allowedIps: AllowedIpService;
  lifecycle: LifecycleService;
  checks: CheckStore;
  messages: MessageStore;
  domainStore: DomainStore;
  webhooks: WebhookService;
  webhookStore: WebhookStore;
  probes: Record<string, Probe>;
  metrics: HttpMetrics;
  version: string;
}

/** The express app: public service routes, then bearer-authenticated /v1. */
export function createHttpApp(deps: HttpDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', 'weak');
  app.set('query parser', 'simple');
  app.use(deps.metrics.middleware);
  app.use(healthRoutes(deps.probes, deps.metrics.registry));
  const openapi = openApiDocument(deps.version);
  app.get('/openapi.json', (_req, res) => void res.json(openapi));

  app.use('/v1', authenticate(deps.accounts));
  app.use(express.json({ limit: '100kb', type: ['application/json', 'application/*+json'] }));
  app.use(accountsRoutes(deps.accounts));
  app.use(domainsRoutes(deps.domains));
  app.use(lifecycleRoutes(deps.lifecycle, deps.domains, deps.checks));
  app.use(approvalRoutes(deps.approval));
  app.use(messagesRoutes(deps.messages));
  app.use(smtpUsersRoutes(deps.smtpUsers));
  app.use(allowedIpsRoutes(deps.allowedIps));
  app.use(policyRoutes(deps.domainStore));
  app.use(webhooksRoutes(deps.webhooks, deps.webhookStore));

  app.use(notFoundHandler);
  app.use(problemHandler(deps.logger));
  return app;
}
