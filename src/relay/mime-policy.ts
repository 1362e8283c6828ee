/**
 * DESIGN §5 "Attachments are not supported", as pure functions over header text: which
 * MIME parts a relayed message may have, and whether its multipart delimiters are the
 * ones the parser saw. Everything here reads the header fields itself instead of
 * trusting one parser's reading, so a field another client would read differently is
 * refused rather than guessed at.
 */

/** One header field: its name (lowercase, without the whitespace RFC 5322 §4.5 allows before the colon) and its unfolded value. */
export interface HeaderField {
  name: string;
  value: string;
}

/** Splits a header section (CRLF lines) into fields; a line that is neither a field nor a continuation is skipped. */
export function parseHeaderSection(section: string): HeaderField[] {
  const fields: HeaderField[] = [];
  for (const line of section.split('\r\n')) {
    if (line === '') break;
    if (line[0] === ' ' || line[0] === '\t') {
      const last = fields[fields.length - 1];
      if (last) last.value += line;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    fields.push({ name: line.slice(0, colon).replace(/[ \t]+$/, '').toLowerCase(), value: line.slice(colon + 1) });
  }
  return fields;
}

/** The MIME header fields of one part, every occurrence in order. */
export interface PartHeaders {
  contentType: string[];
  contentDisposition: string[];
  contentTransferEncoding: string[];
}

export function partHeaders(fields: HeaderField[]): PartHeaders {
  const all = (name: string) => fields.filter((f) => f.name === name).map((f) => f.value);
  return {
    contentType: all('content-type'),
    contentDisposition: all('content-disposition'),
    contentTransferEncoding: all('content-transfer-encoding'),
  };
}

export type TextEncoding = 'identity' | 'quoted-printable' | 'base64';

export type PartVerdict =
  | { kind: 'text'; type: string; encoding: TextEncoding }
  | { kind: 'multipart'; type: string; boundary: string }
  | { kind: 'refused'; reason: string };

const TEXT_TYPES = new Set(['text/plain', 'text/html']);
const MULTIPART_TYPES = new Set(['multipart/mixed', 'multipart/alternative', 'multipart/related']);
const ENCODINGS: Record<string, TextEncoding> = { '': 'identity', '7bit': 'identity', '8bit': 'identity', binary: 'identity', 'quoted-printable': 'quoted-printable', base64: 'base64' };
/**
 * name=, filename=, and their RFC 2231 forms (name*=, filename*0=, filename*0*=),
 * anywhere in the field, quoted or not: a file name read by any client is an attachment.
 */
const FILE_NAME_PARAMETER = /(?:^|[^a-z0-9_.-])(?:file)?name\s*(?:\*\s*\d*\s*\*?\s*)?=/i;
/** RFC 2046 §5.1.1 bchars, 1 to 70 of them, not ending in a space. */
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;

const firstToken = (value: string) => value.split(';', 1)[0].replace(/\([^)]*\)/g, '').trim().toLowerCase();

/** The parameters of a structured field, split on `;` outside quoted strings; names lowercase. */
export function parameters(value: string): { name: string; value: string }[] {
  const out: { name: string; value: string }[] = [];
  const pieces: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '"' && value[i - 1] !== '\\') quoted = !quoted;
    if (ch === ';' && !quoted) {
      pieces.push(current);
      current = '';
    } else current += ch;
  }
  pieces.push(current);
  for (const piece of pieces.slice(1)) {
    const eq = piece.indexOf('=');
    if (eq < 0) continue;
    let v = piece.slice(eq + 1).trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    out.push({ name: piece.slice(0, eq).trim().toLowerCase(), value: v });
  }
  return out;
}

/**
 * What one part is, given its MIME header fields and its parent's type (null for the
 * message itself). Allowed: text/plain and text/html without a file name, inline or
 * without a disposition, in 7bit, 8bit, binary, quoted-printable or base64; and
 * multipart/mixed, /alternative and /related with a usable boundary, whose parts
 * are checked the same way. Anything else is refused with the reason.
 */
export function classifyPart(headers: PartHeaders, parentType: string | null): PartVerdict {
  const refuse = (reason: string): PartVerdict => ({ kind: 'refused', reason });
  if (headers.contentType.length > 1) return refuse('more than one Content-Type field');
  if (headers.contentDisposition.length > 1) return refuse('more than one Content-Disposition field');
  if (headers.contentTransferEncoding.length > 1) return refuse('more than one Content-Transfer-Encoding field');
  const [contentType, disposition, encodingField] = [headers.contentType[0], headers.contentDisposition[0], headers.contentTransferEncoding[0]];
  if ((contentType && FILE_NAME_PARAMETER.test(contentType)) || (disposition && FILE_NAME_PARAMETER.test(disposition))) return refuse('a part with a file name');
  if (disposition !== undefined && !['', 'inline'].includes(firstToken(disposition))) return refuse(`Content-Disposition: ${firstToken(disposition)}`);
  // RFC 2046 §5.1.5: in a digest a part without Content-Type is a message/rfc822.
  const type = contentType === undefined ? (parentType === 'multipart/digest' ? 'message/rfc822' : 'text/plain') : firstToken(contentType);
  const encodingName = encodingField === undefined ? '' : firstToken(encodingField);
  const encoding = Object.hasOwn(ENCODINGS, encodingName) ? ENCODINGS[encodingName] : undefined;
  if (!encoding) return refuse(`Content-Transfer-Encoding ${encodingName}`);
  if (TEXT_TYPES.has(type)) return { kind: 'text', type, encoding };
  if (!MULTIPART_TYPES.has(type)) return refuse(type ? `a ${type} part` : 'an empty Content-Type');
  if (encoding !== 'identity') return refuse(`a ${type} part in ${encodingName}`);
  const params = parameters(contentType ?? '');
  const boundaries = params.filter((p) => p.name.startsWith('boundary'));
  if (boundaries.length !== 1 || boundaries[0].name !== 'boundary' || !BOUNDARY.test(boundaries[0].value)) return refuse(`a ${type} part without a usable boundary`);
  return { kind: 'multipart', type, boundary: boundaries[0].value };
}

/** A multipart part as the parser walked it: its boundary and how many parts it found in it. */
export interface WalkedMultipart {
  boundary: string;
  children: number;
}

/**
 * RFC 2046 §5.1.1 asks that a boundary never occur inside the parts; clients differ on
 * what they do when it does (a delimiter with trailing blanks, an outer boundary inside
 * an inner part). So every line of the message that starts with `--<boundary>` must be
 * exactly a delimiter or the close delimiter, each multipart must have as many
 * delimiters as the parser found parts in it, and no boundary may be the start of another.
 * Returns why the structure is refused, or null.
 */
export function delimiterProblem(raw: Buffer, multiparts: WalkedMultipart[]): string | null {
  if (multiparts.length === 0) return null;
  const counts = new Map<string, { opens: number; closes: number; children: number }>();
  for (const m of multiparts) {
    if (counts.has(m.boundary)) return 'two multipart parts with the same boundary';
    if (m.children === 0) return 'a multipart part without parts';
    counts.set(m.boundary, { opens: 0, closes: 0, children: m.children });
  }
  const boundaries = [...counts.keys()];
  if (boundaries.some((a) => boundaries.some((b) => a !== b && b.startsWith(a)))) return 'a boundary that starts another boundary';
  const longest = Math.max(...boundaries.map((b) => b.length));
  const nextDashLine = (from: number) => {
    const at = raw.indexOf('\r\n--', from);
    return at === -1 ? -1 : at + 2;
  };
  for (let start = raw[0] === 0x2d && raw[1] === 0x2d ? 0 : nextDashLine(0); start !== -1; ) {
    const eol = raw.indexOf('\r\n', start);
    const end = eol === -1 ? raw.length : eol;
    const length = end - start - 2;
    const text = raw.toString('latin1', start + 2, Math.min(end, start + 2 + longest + 2));
    for (const [boundary, count] of counts) {
      if (!text.startsWith(boundary)) continue;
      if (length === boundary.length) count.opens++;
      else if (length === boundary.length + 2 && text.endsWith('--')) count.closes++;
      else return 'a line that starts like a boundary delimiter but is not one';
      break;
    }
    start = eol === -1 ? -1 : nextDashLine(eol);
  }
  for (const count of counts.values()) {
    if (count.opens !== count.children || count.closes > 1) return 'boundary delimiters that do not match the parts';
  }
  return null;
}
