import { Readable, Writable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { Headers, Splitter, type MimeNode, type SplitterChunk } from 'mailsplit';

/** One per-recipient block of a delivery status notification (RFC 3464 §2.3). */
export interface DsnRecipient {
  /** The address of Final-Recipient (its `rfc822;` type stripped), lowercase; null when absent. */
  finalRecipient: string | null;
  /** failed | delayed | delivered | relayed | expanded (lowercase). */
  action: string;
  /** The enhanced status code, `5.1.1`. */
  status: string;
  /** Diagnostic-Code without its type: `550 5.1.1 user unknown`; null when absent. */
  diagnostic: string | null;
  /** Remote-MTA without its type, else the report's Reporting-MTA. */
  remoteMta: string | null;
}

/** What an inbound message to a return path turned out to be. */
export type FeedbackReport =
  | { kind: 'dsn'; recipients: DsnRecipient[] }
  /** An ARF complaint or feedback report (RFC 5965 §3.1). */
  | { kind: 'arf'; feedbackType: string; userAgent: string | null; originalMailFrom: string | null; originalRcptTo: string | null }
  | { kind: 'other'; contentType: string };

/** Bounds on what is parsed: a report is small, whatever it quotes. */
const MAX_HEAD_BYTES = 64 * 1024;
const MAX_PARTS = 50;
/** The machine-readable part is a few hundred bytes; more than this is not read. */
const MAX_REPORT_PART_BYTES = 64 * 1024;

const REPORT_TYPES = new Set(['message/delivery-status', 'message/global-delivery-status', 'message/feedback-report']);

/** Collects the bodies of the machine-readable parts, and the top-level content type. */
class ReportParts extends Writable {
  rootType = '';
  readonly parts = new Map<MimeNode, Buffer[]>();
  private readonly sizes = new Map<MimeNode, number>();

  constructor() {
    super({ objectMode: true });
  }

  override _write(chunk: SplitterChunk, _enc: BufferEncoding, done: (err?: Error) => void): void {
    if (chunk.type === 'node') {
      if (chunk.root) this.rootType = (chunk.contentType || 'text/plain').toLowerCase();
      if (chunk.contentType && REPORT_TYPES.has(chunk.contentType.toLowerCase())) this.parts.set(chunk, []);
    } else if (chunk.type === 'body') {
      const bodies = this.parts.get(chunk.node);
      const size = (this.sizes.get(chunk.node) ?? 0) + chunk.value.length;
      if (bodies && size <= MAX_REPORT_PART_BYTES) {
        bodies.push(chunk.value);
        this.sizes.set(chunk.node, size);
      }
    }
    done();
  }
}

/**
 * A part's body with its Content-Transfer-Encoding undone by mailsplit's own decoder for the
 * part (libqp for quoted-printable, libbase64 for base64, as is for 7bit, 8bit and binary):
 * reports come as 7bit mostly, but quoted-printable (Exchange, some feedback loops) and
 * base64 occur, and a soft line break left in would cut a field in two.
 */
async function decoded(node: MimeNode, body: Buffer): Promise<string> {
  const decoder = node.getDecoder();
  decoder.end(body);
  return (await buffer(decoder)).toString('utf8');
}

/** The field groups of a report body: blocks of header fields separated by blank lines (RFC 3464 §2.1, RFC 5965 §3). */
function fieldGroups(body: string): Headers[] {
  return body
    .replace(/\r\n/g, '\n')
    .split(/\n[ \t]*\n/)
    .filter((block) => block.trim() !== '')
    .map((block) => new Headers(Buffer.from(`${block.trim()}\r\n`, 'utf8')));
}

/** `rfc822; user@example.com` → `user@example.com`; `dns; mx.example.com` → `mx.example.com`. */
function typed(value: string): string | null {
  const v = value.trim();
  if (!v) return null;
  const semi = v.indexOf(';');
  return (semi >= 0 ? v.slice(semi + 1) : v).trim().replace(/^<|>$/g, '') || null;
}

function parseDsn(body: string): DsnRecipient[] {
  const [perMessage, ...perRecipient] = fieldGroups(body);
  const reportingMta = perMessage ? typed(perMessage.getFirst('reporting-mta')) : null;
  return perRecipient
    .filter((g) => g.getFirst('action') !== '')
    .map((g) => ({
      finalRecipient: typed(g.getFirst('final-recipient'))?.toLowerCase() ?? null,
      action: g.getFirst('action').trim().toLowerCase(),
      status: (/\d\.\d{1,3}\.\d{1,3}/.exec(g.getFirst('status')) ?? [''])[0],
      diagnostic: typed(g.getFirst('diagnostic-code')),
      remoteMta: typed(g.getFirst('remote-mta')) ?? reportingMta,
    }));
}

/**
 * Reads a bounce or complaint with mailsplit: a multipart/report whose
 * message/delivery-status part is a DSN (RFC 3464), or whose message/feedback-report part
 * is an ARF report (RFC 5965). Anything else is `other`. The parse is bounded in header
 * size, parts and report-part bytes.
 */
export async function parseReport(raw: Buffer): Promise<FeedbackReport> {
  const parts = new ReportParts();
  await pipeline(Readable.from([raw]), new Splitter({ maxHeadSize: MAX_HEAD_BYTES, maxChildNodes: MAX_PARTS }), parts);
  for (const [node, chunks] of parts.parts) {
    const body = await decoded(node, Buffer.concat(chunks));
    if (String(node.contentType).toLowerCase() === 'message/feedback-report') {
      const g = fieldGroups(body)[0];
      if (!g) continue;
      return {
        kind: 'arf',
        feedbackType: g.getFirst('feedback-type').trim().toLowerCase(),
        userAgent: g.getFirst('user-agent') || null,
        originalMailFrom: typed(g.getFirst('original-mail-from'))?.toLowerCase() ?? null,
        originalRcptTo: typed(g.getFirst('original-rcpt-to'))?.toLowerCase() ?? null,
      };
    }
    return { kind: 'dsn', recipients: parseDsn(body) };
  }
  return { kind: 'other', contentType: parts.rootType };
}
