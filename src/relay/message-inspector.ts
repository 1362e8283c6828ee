import { Writable, type Readable } from 'node:stream';
import { Splitter, type MimeNode, type SplitterChunk } from 'mailsplit';
import addressparser from 'nodemailer/lib/addressparser';
import { DataScanner, MAX_HEADER_BYTES, type ScanDefect } from './data-scanner';
import { classifyPart, delimiterProblem, parseHeaderSection, partHeaders, type PartVerdict, type WalkedMultipart } from './mime-policy';
import { TextBodyProbe } from './text-body-probe';

/** At most this many MIME parts in one message (mailsplit's own limit is 1000). */
export const MAX_PARTS = 100;

/** Why a message is refused, before any policy is asked (DESIGN §5). */
export type MessageDefect = { kind: ScanDefect } | { kind: 'multiple-from' } | { kind: 'attachment'; reason: string };

/** What the relay needs to know about a message before it accepts it. */
export interface InspectedMessage {
  /** The DATA bytes exactly as inspected (dot-stuffing undone); empty when refused. */
  raw: Buffer;
  /** The first reason to refuse the message, or null. */
  defect: MessageDefect | null;
  /** Domains of the From: addresses (lowercase). */
  fromDomains: string[];
}

function domainsOf(header: string): string[] {
  return addressparser(header, { flatten: true })
    .map((a) => a.address ?? '')
    .filter((a) => a.includes('@'))
    .map((a) => a.slice(a.lastIndexOf('@') + 1).toLowerCase().replace(/\.$/, ''));
}

/**
 * Walks mailsplit's parts: counts the From: fields of the message, classifies every
 * part (mime-policy), and reads text bodies for uuencoded files. After the first
 * refusal it only drains.
 */
class PartWalker extends Writable {
  fromCount = 0;
  fromDomains: string[] = [];
  refusal: string | null = null;
  private readonly verdicts = new Map<MimeNode, PartVerdict>();
  private readonly multiparts = new Map<MimeNode, WalkedMultipart>();
  private probe: { node: MimeNode; probe: TextBodyProbe } | null = null;

  constructor() {
    super({ objectMode: true });
  }

  walked(): WalkedMultipart[] {
    return [...this.multiparts.values()];
  }

  override _write(data: SplitterChunk, _enc: BufferEncoding, done: (err?: Error) => void): void {
    if (this.refusal) return done();
    try {
      if (data.type === 'node') this.onPart(data);
      else if (data.type === 'body' && this.probe && data.node === this.probe.node) this.probe.probe.write(data.value);
      this.checkProbe(false);
    } catch (err) {
      // Fail closed: a part this code cannot read is not let through (the reason is logged).
      this.refuse(`a part that could not be read (${(err as Error).message})`);
    }
    done();
  }

  override _final(done: (err?: Error) => void): void {
    this.checkProbe(true);
    done();
  }

  private refuse(reason: string): void {
    this.refusal ??= reason;
  }

  private checkProbe(ended: boolean): void {
    if (!this.probe) return;
    if (ended) this.probe.probe.end();
    if (this.probe.probe.found) this.refuse('a uuencoded or yEnc file in a text part');
  }

  private onPart(node: MimeNode): void {
    // The previous text part is over once the next part starts.
    this.checkProbe(true);
    this.probe = null;
    if (this.refusal) return;
    // The fields as they stand in the message; mailsplit's own reading drops a first
    // line that starts with "From " (mbox), which a client may read as a From: field.
    const fields = parseHeaderSection(node.getHeaders().toString('latin1'));
    if (node.root) {
      const from = fields.filter((f) => f.name === 'from');
      this.fromCount = from.length;
      this.fromDomains = from.length ? domainsOf(from[0].value) : [];
    }
    const parent = node.parentNode || null;
    const parentVerdict = parent ? this.verdicts.get(parent) : undefined;
    if (parent) {
      const walked = this.multiparts.get(parent);
      if (!walked || parentVerdict?.kind !== 'multipart') return this.refuse('a part inside a part that is not multipart');
      walked.children++;
    }
    const verdict = classifyPart(partHeaders(fields), parentVerdict?.kind === 'multipart' ? parentVerdict.type : null);
    this.verdicts.set(node, verdict);
    if (verdict.kind === 'refused') return this.refuse(verdict.reason);
    // Both readings of the part must agree, or one of them is not what a client sees.
    if (node.contentType !== verdict.type) return this.refuse('a Content-Type field read two ways');
    if (verdict.kind === 'multipart') this.multiparts.set(node, { boundary: verdict.boundary, children: 0 });
    else this.probe = { node, probe: new TextBodyProbe(verdict.encoding) };
  }
}

function splitterDefect(err: Error & { code?: string }): MessageDefect {
  if (/header size/i.test(err.message)) return { kind: 'header-too-long' };
  if (/child nodes/i.test(err.message)) return { kind: 'attachment', reason: `more than ${MAX_PARTS} MIME parts` };
  return { kind: 'attachment', reason: `a MIME structure that cannot be parsed (${err.message})` };
}

/**
 * Reads the DATA stream to its end: the DataScanner checks the bytes (line endings,
 * line and header lengths, size) and keeps them, mailsplit splits what the scanner
 * let through into parts, and PartWalker judges the parts. The bytes returned are the
 * bytes that were inspected, and nothing is kept or parsed past the first defect.
 */
export async function inspectMessage(stream: Readable, maxBytes: number): Promise<InspectedMessage> {
  const scanner = new DataScanner(maxBytes);
  const splitter = new Splitter({ maxHeadSize: MAX_HEADER_BYTES, maxChildNodes: MAX_PARTS });
  const walker = new PartWalker();
  let splitFailure: MessageDefect | null = null;
  const walkedAll = new Promise<void>((resolve) => {
    walker.on('finish', resolve);
    splitter.on('error', (err: Error) => {
      splitFailure = splitterDefect(err);
      // The scanner goes on reading (and counting) to the end of DATA, into nothing.
      scanner.unpipe(splitter);
      scanner.stopForwarding();
      scanner.resume();
      resolve();
    });
  });
  scanner.pipe(splitter).pipe(walker);
  try {
    await new Promise<void>((resolve, reject) => {
      stream.once('error', reject);
      stream.once('close', () => (stream.readableEnded ? undefined : reject(new Error('the message stream closed before its end'))));
      scanner.once('finish', resolve);
      stream.pipe(scanner);
    });
  } catch (err) {
    scanner.destroy();
    splitter.destroy();
    walker.destroy();
    throw err;
  }
  await walkedAll;

  const fromDomains = walker.fromDomains;
  const found = (defect: MessageDefect): InspectedMessage => ({ raw: Buffer.alloc(0), defect, fromDomains });
  if (scanner.defect) return found({ kind: scanner.defect });
  if (splitFailure) return found(splitFailure);
  if (walker.fromCount > 1) return found({ kind: 'multiple-from' });
  if (walker.refusal) return found({ kind: 'attachment', reason: walker.refusal });
  const raw = scanner.raw();
  const structure = delimiterProblem(raw, walker.walked());
  if (structure) return found({ kind: 'attachment', reason: structure });
  return { raw, defect: null, fromDomains };
}
