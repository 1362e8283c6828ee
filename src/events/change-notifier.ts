/** Sends one message on a pub/sub channel (Redis PUBLISH in production). */
export type Publish = (channel: string, message: string) => Promise<unknown>;

/** The channel relays listen on to drop a cached policy decision. */
export const policyChannel = (prefix: string) => `${prefix}:policy-invalidate`;
/** The channel relays listen on to reload a domain's allowed networks. */
export const allowlistChannel = (prefix: string) => `${prefix}:allowlist-invalidate`;
/** The channel relays listen on to drop what they cached of an account's suppressed address. */
export const suppressionChannel = (prefix: string) => `${prefix}:suppression-invalidate`;

/** What an invalidation message carries: a domain's id, or an account's id and a normalised address. */
export interface InvalidationMessage {
  domainId?: string;
  accountId?: string;
  address?: string;
}

/**
 * Tells relays that something changed in a way their caches hold: a domain's sending
 * decision (status, approval, existence, sending limits), its allowed networks, or an
 * address on an account's suppression list.
 */
export class ChangeNotifier {
  constructor(
    private readonly publish: Publish,
    private readonly prefix: string,
  ) {}

  async policyChanged(domainId: string): Promise<void> {
    await this.publish(policyChannel(this.prefix), JSON.stringify({ domainId }));
  }

  async allowlistChanged(domainId: string): Promise<void> {
    await this.publish(allowlistChannel(this.prefix), JSON.stringify({ domainId }));
  }

  /** `address` normalised, as the suppression list stores it. */
  async suppressionChanged(accountId: string, address: string): Promise<void> {
    const message: InvalidationMessage = { accountId, address };
    await this.publish(suppressionChannel(this.prefix), JSON.stringify(message));
  }
}
