import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a VERP token names: one recipient (by its index in the message's recipient list) of one message. */
export interface VerpToken {
  queueId: string;
  /** The recipient's index in the message's recipients. */
  index: number;
  /** The signature, to be checked against the recipient's address (VerpAddresses.verify). */
  mac: string;
}

const QUEUE_ID = /^[0-9a-z]{6,32}$/;
const LOCAL_PART = /^b-([0-9a-z]{6,32})-([0-9a-z]{1,4})-([0-9a-f]{20})$/;

/**
 * VERP envelope senders at a verified return-path subdomain (DESIGN §2 step 6, §6):
 * `b-<queueId>-<index>-<mac>@<subdomain>`, where mac is 80 bits of HMAC-SHA256 under
 * VERP_SECRET over the queue id, the index and the recipient's address. A bounce names
 * its message and recipient through it, and nobody without the secret can make one that
 * names another. Lowercase only, at most 45 characters: a valid local part that survives
 * servers that fold case.
 */
export class VerpAddresses {
  constructor(private readonly secret: Buffer) {}

  /** The envelope sender for recipient `index` (`address`) of message `queueId`; null for a queue id a token cannot carry (not the relay's). */
  address(queueId: string, index: number, address: string, subdomain: string): string | null {
    if (!QUEUE_ID.test(queueId) || index < 0) return null;
    return `b-${queueId}-${index.toString(36)}-${this.mac(queueId, index, address)}@${subdomain}`;
  }

  /** The token in a local part, or null when it has not the shape of one (its signature is not checked here). */
  parse(localPart: string): VerpToken | null {
    const m = LOCAL_PART.exec(localPart.toLowerCase());
    return m ? { queueId: m[1], index: parseInt(m[2], 36), mac: m[3] } : null;
  }

  /** True when the token was made by us for this recipient address. */
  verify(token: VerpToken, address: string): boolean {
    const want = Buffer.from(this.mac(token.queueId, token.index, address), 'utf8');
    const got = Buffer.from(token.mac, 'utf8');
    return want.length === got.length && timingSafeEqual(want, got);
  }

  private mac(queueId: string, index: number, address: string): string {
    return createHmac('sha256', this.secret).update(`${queueId}\n${index}\n${address.toLowerCase()}`).digest('hex').slice(0, 20);
  }
}
