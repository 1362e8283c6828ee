import { Transform, type TransformCallback } from 'node:stream';

/** RFC 5322 §2.1.1: at most 998 characters on a line, not counting its CRLF. */
export const MAX_LINE_BYTES = 998;
/** The message header section (and every MIME part's) may not grow past this. */
export const MAX_HEADER_BYTES = 64 * 1024;

/** What the byte-level scan refuses, in the order it is found. */
export type ScanDefect = 'too-big' | 'bare-newline' | 'line-too-long' | 'header-too-long';

const CR = 0x0d;
const LF = 0x0a;

/**
 * The first look at the DATA bytes (as the client sent them, dot-stuffing undone by
 * smtp-server, which leaves line endings alone). It passes the message on unchanged
 * and keeps a copy, so the spooled bytes are exactly the inspected ones, until the
 * first defect: a bare CR or LF, a line over 998 bytes, a header section over 64 KiB
 * or more than `maxBytes` in all. From then on it forwards and keeps nothing and only
 * counts what is left, so the session stays in step at the cost of a byte count.
 *
 * Constant work per byte: it remembers the length of the current line, whether the
 * last byte was a CR and the size of the header section, never the line itself.
 */
export class DataScanner extends Transform {
  /** Bytes seen in all, including those read after a defect. */
  bytes = 0;
  /** The first defect, or null. `too-big` replaces any other once the limit is passed. */
  defect: ScanDefect | null = null;
  private chunks: Buffer[] = [];
  private lineBytes = 0;
  private afterCr = false;
  private inHeader = true;
  private headerBytes = 0;
  private forwarding = true;

  constructor(private readonly maxBytes: number) {
    super();
  }

  /** The bytes that were passed on, as one buffer; empty once a defect was found. */
  raw(): Buffer {
    return this.defect ? Buffer.alloc(0) : Buffer.concat(this.chunks);
  }

  /** Stops passing bytes on (the consumer failed); the rest is still scanned and counted. */
  stopForwarding(): void {
    this.forwarding = false;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes && this.defect !== 'too-big') this.refuse('too-big');
    if (this.defect) return done();
    const found = this.scan(chunk);
    if (found) {
      this.refuse(found);
      return done();
    }
    this.chunks.push(chunk);
    if (this.forwarding) this.push(chunk);
    done();
  }

  override _flush(done: TransformCallback): void {
    // A CR as the very last byte has no LF after it.
    if (!this.defect && this.afterCr) this.refuse('bare-newline');
    done();
  }

  private refuse(defect: ScanDefect): void {
    this.defect = defect;
    this.chunks = [];
  }

  /** Walks one chunk with native searches for CR and LF; returns the first defect in it. */
  private scan(chunk: Buffer): ScanDefect | null {
    const len = chunk.length;
    let i = 0;
    while (i < len) {
      if (this.afterCr) {
        if (chunk[i] !== LF) return 'bare-newline';
        this.afterCr = false;
        i++;
        if (this.inHeader && (this.headerBytes += 1) > MAX_HEADER_BYTES) return 'header-too-long';
        // A line that was empty ends the header section.
        if (this.inHeader && this.lineBytes === 0) this.inHeader = false;
        this.lineBytes = 0;
        continue;
      }
      const cr = chunk.indexOf(CR, i);
      const end = cr === -1 ? len : cr;
      // An LF before the next CR has no CR of its own. In a well-formed chunk the next
      // LF is the one right after that CR, so the two searches read each byte about twice.
      const lf = chunk.indexOf(LF, i);
      if (lf !== -1 && lf < end) return 'bare-newline';
      const content = end - i;
      this.lineBytes += content;
      if (this.lineBytes > MAX_LINE_BYTES) return 'line-too-long';
      if (this.inHeader && (this.headerBytes += content + (cr === -1 ? 0 : 1)) > MAX_HEADER_BYTES) return 'header-too-long';
      if (cr === -1) break;
      this.afterCr = true;
      i = cr + 1;
    }
    return null;
  }
}
