/**
 * Pure header-section edits made before signing: a relayed message must carry a
 * Message-ID and a Date (RFC 5322 §3.6), and receivers score mail without them badly.
 * Only the header section is read or changed; body bytes pass through untouched.
 */

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const pad = (n: number) => String(n).padStart(2, '0');

/** RFC 5322 §3.3 date-time in UTC: `Tue, 05 Mar 2024 14:03:07 +0000`. */
export function formatRfc5322Date(date: Date): string {
  return (
    `${DAYS[date.getUTCDay()]}, ${pad(date.getUTCDate())} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}

/** `<queueId.random@domain>`: unique per message, and traceable to the spool by its queueId. */
export function messageIdFor(queueId: string, domain: string, random: string): string {
  return `<${queueId}.${random}@${domain}>`;
}

/** Where the header section ends and which line ending the message uses. */
export interface HeaderSection {
  /** Offset just past the last header line's line ending (where new fields go). */
  insertAt: number;
  eol: '\r\n' | '\n';
  /** The header section as latin1 text (byte-for-byte, whatever its charset). */
  text: string;
  /** True when the last header line has no line ending (a message with no body separator). */
  needsEol: boolean;
}

/** Finds the header section: everything before the first empty line (CRLF or LF). */
export function findHeaderSection(raw: Buffer): HeaderSection {
  // A message that starts with an empty line has an empty header section.
  if (raw[0] === 0x0a) return { insertAt: 0, eol: '\n', text: '', needsEol: false };
  if (raw[0] === 0x0d && raw[1] === 0x0a) return { insertAt: 0, eol: '\r\n', text: '', needsEol: false };
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  let end: number;
  let eol: '\r\n' | '\n';
  if (crlf !== -1 && (lf === -1 || crlf < lf)) {
    end = crlf;
    eol = '\r\n';
  } else if (lf !== -1) {
    // "\r\n\n" ends the headers too; keep the CR with the last header line.
    end = lf;
    eol = raw[lf - 1] === 0x0d ? '\r\n' : '\n';
    if (eol === '\r\n') end = lf - 1;
  } else {
    // No empty line: the whole message is header section, with no body.
    const text = raw.toString('latin1');
    const eolGuess = text.includes('\r\n') || text.length === 0 ? '\r\n' : text.includes('\n') ? '\n' : '\r\n';
    const endsWithEol = text.endsWith('\n');
    return { insertAt: raw.length, eol: eolGuess, text, needsEol: text.length > 0 && !endsWithEol };
  }
  return { insertAt: end + eol.length, eol, text: raw.subarray(0, end).toString('latin1'), needsEol: false };
}

/** True when the header section has a field of this name (continuation lines never match). */
export function hasHeader(headerText: string, name: string): boolean {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escaped}[ \\t]*:`, 'im').test(headerText);
}

/**
 * Adds `Message-ID` and `Date` when the header section lacks them, in the message's own
 * line-ending style. Returns the input itself when nothing was missing.
 */
export function addMissingHeaders(raw: Buffer, fields: { messageId: string; date: Date }): Buffer {
  const section = findHeaderSection(raw);
  const added: string[] = [];
  if (!hasHeader(section.text, 'message-id')) added.push(`Message-ID: ${fields.messageId}`);
  if (!hasHeader(section.text, 'date')) added.push(`Date: ${formatRfc5322Date(fields.date)}`);
  if (added.length === 0) return raw;
  const lead = section.needsEol ? section.eol : '';
  const insert = Buffer.from(lead + added.map((l) => l + section.eol).join(''), 'latin1');
  return Buffer.concat([raw.subarray(0, section.insertAt), insert, raw.subarray(section.insertAt)]);
}
