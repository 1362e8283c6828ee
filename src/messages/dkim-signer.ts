import { dkimSign } from 'mailauth/lib/dkim/sign';
import type { DKIMSignOptions } from 'mailauth';
import type { DkimSelectorDoc } from '../domains/domain.model';
import type { KeyCipher } from '../keys/key-cipher';

/** No active key could sign: the message cannot leave without DKIM (permanent). */
export class DkimSigningError extends Error {
  constructor(
    message: string,
    readonly selectors: string[],
  ) {
    super(message);
    this.name = 'DkimSigningError';
  }
}

export interface SignedMessage {
  /** DKIM-Signature field(s) followed by the message. */
  message: Buffer;
  /** The selectors that produced a signature, RSA first. */
  selectors: string[];
  /** Keys that failed while another one signed: worth a warning, not a failure. */
  failures: Array<{ selector: string; error: string }>;
}

/** mailauth reports per-key problems as `{selector, err}` objects despite its typings. */
interface SignError {
  selector?: string;
  err?: Error;
}

/** The newest active selector of a key type, if any. */
function newestActive(selectors: DkimSelectorDoc[], keyType: DkimSelectorDoc['keyType']): DkimSelectorDoc | undefined {
  return selectors
    .filter((s) => s.status === 'active' && s.keyType === keyType)
    .sort((a, b) => new Date(b.createdAt).getTime() - new Date(a.createdAt).getTime())[0];
}

/**
 * DKIM-signs outgoing mail with the domain's active selectors (DESIGN §2 step 6):
 * relaxed/relaxed, one rsa-sha256 signature, plus an ed25519-sha256 one when the domain
 * also has an active ed25519 selector (RFC 8463 asks for both while receivers catch up).
 */
export class DkimSigner {
  constructor(private readonly cipher: KeyCipher) {}

  /**
   * Signs `raw` as `signingDomain` (d=) with each active selector (s=). Throws
   * DkimSigningError when there is no active key or every key fails.
   */
  async sign(raw: Buffer, signingDomain: string, selectors: DkimSelectorDoc[], signTime: Date): Promise<SignedMessage> {
    const chosen = [newestActive(selectors, 'rsa'), newestActive(selectors, 'ed25519')].filter(
      (s): s is DkimSelectorDoc => s !== undefined,
    );
    if (chosen.length === 0) throw new DkimSigningError(`${signingDomain} has no active DKIM selector`, []);

    const failures: SignedMessage['failures'] = [];
    const signatureData: DKIMSignOptions[] = [];
    for (const s of chosen) {
      try {
        signatureData.push({
          signingDomain,
          selector: s.selector,
          privateKey: this.cipher.open(s.privateKey, s.selector),
          algorithm: s.keyType === 'rsa' ? 'rsa-sha256' : 'ed25519-sha256',
          canonicalization: 'relaxed/relaxed',
        });
      } catch (err) {
        failures.push({ selector: s.selector, error: `cannot open the private key: ${(err as Error).message}` });
      }
    }
    if (signatureData.length === 0) {
      throw new DkimSigningError(`no DKIM key of ${signingDomain} could be opened`, chosen.map((s) => s.selector));
    }

    // The top-level key fields are ignored when signatureData is given; the typings require them.
    const result = await dkimSign(raw, {
      signingDomain,
      selector: signatureData[0].selector,
      privateKey: signatureData[0].privateKey,
      canonicalization: 'relaxed/relaxed',
      signTime,
      signatureData,
    });
    for (const e of (result.errors ?? []) as unknown as SignError[]) {
      failures.push({ selector: e.selector ?? 'unknown', error: e.err?.message ?? String(e) });
    }
    const failed = new Set(failures.map((f) => f.selector));
    const signed = signatureData.map((d) => d.selector).filter((s) => !failed.has(s));
    if (signed.length === 0 || result.signatures.trim() === '') {
      throw new DkimSigningError(
        `every DKIM key of ${signingDomain} failed: ${failures.map((f) => `${f.selector}: ${f.error}`).join('; ')}`,
        chosen.map((s) => s.selector),
      );
    }
    return { message: Buffer.concat([Buffer.from(result.signatures, 'utf8'), raw]), selectors: signed, failures };
  }
}
