/** Sends one message on a pub/sub channel (Redis PUBLISH in production). */
export type Publish = (channel: string, message: string) => Promise<unknown>;

/** The channel relays listen on to drop a cached policy decision. */
export const policyChannel = (prefix: string) => `${prefix}:policy-invalidate`;
/** The channel relays listen on to reload a domain's allowed networks. */
export const allowlistChannel = (prefix: string) => `${prefix}:allowlist-invalidate`;
/** The channel relays listen on to close the open sessions of a deleted SMTP user. */
export const smtpUserRemovedChannel = (prefix: string) => `${prefix}:smtp-user-removed`;

/**
 * Tells relays that a domain changed in a way their caches hold: its sending decision
 * (status, approval, existence) or its allowed networks; or that an SMTP user is gone,
 * so that its open sessions end.
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

  async smtpUserRemoved(domainId: string, username: string): Promise<void> {
    await this.publish(smtpUserRemovedChannel(this.prefix), JSON.stringify({ domainId, username }));
  }
}
