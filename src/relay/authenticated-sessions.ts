import type { Logger } from '../logger';
import type { AllowlistCache } from './allowlist-cache';
import type { RelayUser } from './relay.service';
import { REPLIES, type SmtpRejection } from './smtp-replies';

interface OpenSession {
  user: RelayUser;
  ip: string;
  close(reply: SmtpRejection): void;
}

/** Taken before AUTH looks anything up, so that a removal during AUTH is not missed. */
export interface AuthTicket {
  readonly seq: number;
}

/**
 * The relay's authenticated sessions, so that a session whose authority is withdrawn
 * is closed (421 4.7.0) instead of sending on: when its SMTP user is deleted, or when
 * its domain's allowlist no longer holds its address.
 */
export class AuthenticatedSessions {
  private readonly sessions = new Map<string, OpenSession>();
  private seq = 0;
  private authsInFlight = 0;
  /** Usernames removed while some AUTH was in flight, with the sequence number of the removal. */
  private readonly removedDuringAuth = new Map<string, number>();

  constructor(
    private readonly allowlist: AllowlistCache,
    private readonly users: { existingUsernames(usernames: string[]): Promise<Set<string>> },
    private readonly logger: Logger,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  /** Call when AUTH starts; hand the ticket to admit() on success or to release() on failure. */
  beginAuth(): AuthTicket {
    this.authsInFlight++;
    return { seq: this.seq };
  }

  release(_ticket: AuthTicket): void {
    if (--this.authsInFlight === 0) this.removedDuringAuth.clear();
  }

  /**
   * Registers a session that just authenticated. False (and nothing registered) when
   * its user was removed while AUTH ran, or its address is no longer allowed.
   */
  admit(ticket: AuthTicket, sessionId: string, user: RelayUser, ip: string, close: (reply: SmtpRejection) => void): boolean {
    const removedAt = this.removedDuringAuth.get(user.username);
    this.release(ticket);
    if ((removedAt !== undefined && removedAt > ticket.seq) || !this.allowlist.domainAllows(user.domainId, ip)) return false;
    this.sessions.set(sessionId, { user, ip, close });
    return true;
  }

  /** The session ended (any reason). */
  closed(sessionId: string): void {
    this.sessions.delete(sessionId);
  }

  /** An SMTP user was deleted: its sessions end now. */
  userRemoved(username: string): void {
    this.seq++;
    if (this.authsInFlight > 0) this.removedDuringAuth.set(username, this.seq);
    this.closeWhere((s) => s.user.username === username, 'smtp user removed');
  }

  /** A domain's allowlist changed (or, without a domain, any may have): sessions it no longer allows end. */
  allowlistChanged(domainId?: string): void {
    this.closeWhere(
      (s) => (domainId === undefined || s.user.domainId === domainId) && !this.allowlist.domainAllows(s.user.domainId, s.ip),
      'address no longer allowed',
    );
  }

  /**
   * Checks every session again, for when notifications may have been missed (the
   * invalidation channel reconnected, or the periodic safety net).
   */
  async revalidate(): Promise<void> {
    this.allowlistChanged();
    if (this.sessions.size === 0) return;
    const names = [...new Set([...this.sessions.values()].map((s) => s.user.username))];
    const existing = await this.users.existingUsernames(names);
    for (const name of names) if (!existing.has(name)) this.userRemoved(name);
  }

  private closeWhere(match: (s: OpenSession) => boolean, reason: string): void {
    for (const [id, s] of this.sessions) {
      if (!match(s)) continue;
      this.sessions.delete(id);
      this.logger.info({ sessionId: id, username: s.user.username, ip: s.ip, reason }, 'smtp session closed: authority withdrawn');
      s.close(REPLIES.authorityWithdrawn());
    }
  }
}
