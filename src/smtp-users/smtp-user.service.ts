import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock';
import { ConflictError, NotFoundError, UnavailableError } from '../errors';
import { newId } from '../ids';
import type { DomainStore } from '../domains/domain.store';
import type { ChangeNotifier } from '../events/change-notifier';
import { generatePassword, hashPassword } from './smtp-password';
import { MAX_SMTP_USERS } from './smtp-user.model';
import type { SmtpUserStore } from './smtp-user.store';

/** A new user as the API shows it: the only time the password is ever visible. */
export interface CreatedSmtpUser {
  username: string;
  password: string;
  createdAt: string;
}

export interface SmtpUserResource {
  username: string;
  createdAt: string;
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const USERNAME = /^mw[a-z2-7]{16}$/;
// A username clash (80 random bits) is already unheard of; two in a row mean a bug.
const USERNAME_ATTEMPTS = 3;

/** `mw` + 16 lowercase base32 characters (80 random bits; 256 is a multiple of 32, so unbiased). */
export function generateUsername(): string {
  const bytes = randomBytes(16);
  let name = 'mw';
  for (const b of bytes) name += BASE32[b % 32];
  return name;
}

/** True when `name` has the shape generateUsername gives; anything else cannot exist. */
export function isSmtpUsername(name: string): boolean {
  return USERNAME.test(name);
}

/** SMTP users of a domain (DESIGN §5): at most five, generated names and passwords. */
export class SmtpUserService {
  constructor(
    private readonly domains: DomainStore,
    private readonly users: SmtpUserStore,
    private readonly clock: Clock,
    private readonly notifier: ChangeNotifier,
  ) {}

  /**
   * Creates an SMTP user for the account's domain with a generated username and
   * password; the password is returned here only and stored as a scrypt hash.
   * The user takes the lowest free of the domain's five slots; the unique index on
   * (domainId, slot) is the cap, so concurrent creates can never exceed it.
   * NotFoundError for another account's domain, ConflictError when all five are taken.
   */
  async create(accountId: string, domainId: string): Promise<CreatedSmtpUser> {
    await this.requireDomain(accountId, domainId);
    const password = generatePassword();
    const passwordHash = await hashPassword(password);
    const createdAt = this.clock.now();
    for (let slot = 0; slot < MAX_SMTP_USERS; slot++) {
      for (let attempt = 1; attempt <= USERNAME_ATTEMPTS; attempt++) {
        const username = generateUsername();
        const result = await this.users.insert({
          _id: newId('smu', createdAt.getTime()),
          username,
          domainId,
          accountId,
          slot,
          passwordHash,
          createdAt,
        });
        if (result === 'inserted') {
          await this.dropIfDomainGone(accountId, domainId, username);
          return { username, password, createdAt: createdAt.toISOString() };
        }
        if (result === 'slot_taken') break;
        if (attempt === USERNAME_ATTEMPTS) throw new Error(`${USERNAME_ATTEMPTS} generated SMTP usernames in a row were taken`);
      }
    }
    throw new ConflictError(`the domain already has ${MAX_SMTP_USERS} SMTP users, the most it may have; delete one first`);
  }

  /** The account's domain's SMTP users, oldest first, without any password material. */
  async list(accountId: string, domainId: string): Promise<{ data: SmtpUserResource[] }> {
    await this.requireDomain(accountId, domainId);
    const users = await this.users.listForDomain(accountId, domainId);
    return { data: users.map((u) => ({ username: u.username, createdAt: u.createdAt.toISOString() })) };
  }

  /**
   * Deletes one SMTP user of the account's domain, then tells the relays to close its
   * open sessions. NotFoundError when the domain or the user is not there. The delete
   * stands when the message cannot be sent; the caller then gets UnavailableError (the
   * relays also check their sessions' users when they resubscribe, and every 5 minutes).
   */
  async remove(accountId: string, domainId: string, username: string): Promise<void> {
    await this.requireDomain(accountId, domainId);
    if (!isSmtpUsername(username) || !(await this.users.deleteForAccount(accountId, domainId, username))) {
      throw new NotFoundError('smtp user');
    }
    try {
      await this.notifier.smtpUserRemoved(domainId, username);
    } catch (err) {
      throw new UnavailableError(
        `the SMTP user was deleted, but the relays could not be told to close its open sessions (${(err as Error).message}); they will within 5 minutes`,
      );
    }
  }

  private async requireDomain(accountId: string, domainId: string): Promise<void> {
    if (!(await this.domains.findForAccount(accountId, domainId))) throw new NotFoundError('domain');
  }

  /**
   * A domain deleted between our ownership check and the insert has already swept its
   * users, so this one would be left behind: look again after writing and undo it.
   * (DomainService.remove deletes the domain before its users, so one side always sees the other.)
   */
  private async dropIfDomainGone(accountId: string, domainId: string, username: string): Promise<void> {
    if (await this.domains.findForAccount(accountId, domainId)) return;
    await this.users.deleteForAccount(accountId, domainId, username);
    throw new NotFoundError('domain');
  }
}
