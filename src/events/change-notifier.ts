/** Sends one message on a pub/sub channel (Redis PUBLISH in production). */
export type Publish = (channel: string, message: string) => Promise<unknown>;

/** The channel relays listen on to drop a cached policy decision. */
export const policyChannel = (prefix: string) => `${prefix}:policy-invalidate`;
/** The channel relays listen on to reload a domain's allowed networks. */
export const allowlistChannel = (prefix: string) => `${prefix}:allowlist-invalidate`;
/** The channel relays listen on to close the open sessions of a deleted SMTP user. */
export const smtpUserRemovedChannel = (prefix: string) => `${prefix}:smtp-user-removed`;
/** The channel relays listen on to drop what they cached of an account's suppressed address. */
export const suppressionChannel = (prefix: string) => `${prefix}:suppression-invalidate`;

/** The channel workers listen on to drop what they cached of an account's webhook subscriptions. */
export const webhookChannel = (prefix: string) => `${prefix}:webhook-invalidate`;
/** The channel workers listen on to reload the operator holds of the delivery queue. */
export const queueHoldChannel = (prefix: string) => `${prefix}:queue-hold-invalidate`;

/**
 * What an invalidation message carries: a domain's id (with a removed SMTP user's name),
 * or an account's id and a normalised address.
 */
export interface InvalidationMessage {
  domainId?: string;
  username?: string;
  accountId?: string;
  address?: string;
}

/**
 * THE publisher of cache invalidations. Tells relays (and workers) that something changed
 * in a way their caches hold: a domain's sending decision (status, approval, existence,
 * sending limits), its allowed networks, an SMTP user that is gone (its open sessions
 * end), or an address on an account's suppression list.
 */
export class ChangeNotifier {
  constructor(
    private readonly publish: Publish,
    private readonly prefix: string,
  ) {}

  async policyChanged(domainId: string): Promise<void> {
    await this.send(policyChannel(this.prefix), { domainId });
  }

  async allowlistChanged(domainId: string): Promise<void> {
    await this.send(allowlistChannel(this.prefix), { domainId });
  }

  async smtpUserRemoved(domainId: string, username: string): Promise<void> {
    await this.send(smtpUserRemovedChannel(this.prefix), { domainId, username });
  }

  /** `address` normalised, as the suppression list stores it. */
  async suppressionChanged(accountId: string, address: string): Promise<void> {
    await this.send(suppressionChannel(this.prefix), { accountId, address });
  }

  /** A subscription of the account became active (created or re-enabled). */
  async webhooksChanged(accountId: string): Promise<void> {
    await this.send(webhookChannel(this.prefix), { accountId });
  }

  /** An operator held or released the mail of a domain or an account. */
  async queueHoldsChanged(scope: { domainId: string } | { accountId: string }): Promise<void> {
    await this.send(queueHoldChannel(this.prefix), scope);
  }

  private async send(channel: string, message: InvalidationMessage): Promise<void> {
    await this.publish(channel, JSON.stringify(message));
  }
}
