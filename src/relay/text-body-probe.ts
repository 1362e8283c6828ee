import type { TextEncoding } from './mime-policy';

/**
 * The start of a uuencoded file (`begin 644 invoice.pdf`, `begin-base64 644 …`) or a
 * yEnc one (`=ybegin line=128 size=… name=…`): mail clients show either as an attachment.
 */
const ENCODED_FILE = /^(?:begin(?:-base64)?[ \t]+[0-7]{3,4}[ \t]+\S|=ybegin[ \t])/i;
/** Enough of a line to match ENCODED_FILE. */
const HEAD_CHARS = 24;

const LF = 0x0a;
const CR = 0x0d;
const EQ = 0x3d;
const hexValue = (b: number) => (b >= 0x30 && b <= 0x39 ? b - 0x30 : b >= 0x41 && b <= 0x46 ? b - 0x37 : b >= 0x61 && b <= 0x66 ? b - 0x57 : -1);

/**
 * Reads a text part's body as its recipient's client will, after the transfer encoding,
 * and tells whether a line starts a uuencoded or yEnc file. It keeps only the first
 * characters of the current line and a few bytes of decoder state.
 */
export class TextBodyProbe {
  /** True once a line that starts an encoded file was seen. */
  found = false;
  private head = '';
  private base64Carry = '';
  private qpState: 'text' | 'equals' | 'hex' | 'soft-break' = 'text';
  private qpHigh = 0;

  constructor(private readonly encoding: TextEncoding) {}

  /** The next piece of the body, still transfer-encoded. */
  write(chunk: Buffer): void {
    if (this.found) return;
    this.lines(this.encoding === 'base64' ? this.fromBase64(chunk) : this.encoding === 'quoted-printable' ? this.fromQuotedPrintable(chunk) : chunk);
  }

  /** The body is over: looks at its last line. */
  end(): void {
    if (!this.found && this.encoding === 'base64' && this.base64Carry.length > 1) this.lines(Buffer.from(this.base64Carry, 'base64'));
    this.endLine();
  }

  private lines(text: Buffer): void {
    let i = 0;
    while (i < text.length && !this.found) {
      const lf = text.indexOf(LF, i);
      const end = lf === -1 ? text.length : lf;
      if (this.head.length < HEAD_CHARS) this.head += text.toString('latin1', i, Math.min(end, i + HEAD_CHARS - this.head.length));
      if (lf === -1) return;
      this.endLine();
      i = lf + 1;
    }
  }

  private endLine(): void {
    if (ENCODED_FILE.test(this.head)) this.found = true;
    this.head = '';
  }

  private fromBase64(chunk: Buffer): Buffer {
    const text = this.base64Carry + chunk.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, '');
    const whole = text.length - (text.length % 4);
    this.base64Carry = text.slice(whole);
    return Buffer.from(text.slice(0, whole), 'base64');
  }

  /** RFC 2045 §6.7: =XX is one byte, = at the end of a line joins it to the next. */
  private fromQuotedPrintable(chunk: Buffer): Buffer {
    if (this.qpState === 'text' && chunk.indexOf(EQ) === -1) return chunk;
    const out = Buffer.allocUnsafe(chunk.length + 2);
    let o = 0;
    for (const b of chunk) {
      switch (this.qpState) {
        case 'text':
          if (b === EQ) this.qpState = 'equals';
          else out[o++] = b;
          break;
        case 'equals':
          if (b === CR) this.qpState = 'soft-break';
          else if (hexValue(b) >= 0) {
            this.qpHigh = b;
            this.qpState = 'hex';
          } else {
            out[o++] = EQ;
            out[o++] = b;
            this.qpState = 'text';
          }
          break;
        case 'hex':
          if (hexValue(b) >= 0) out[o++] = hexValue(this.qpHigh) * 16 + hexValue(b);
          else {
            out[o++] = EQ;
            out[o++] = this.qpHigh;
            out[o++] = b;
          }
          this.qpState = 'text';
          break;
        case 'soft-break':
          if (b !== LF) out[o++] = b;
          this.qpState = 'text';
          break;
      }
    }
    return out.subarray(0, o);
  }
}
