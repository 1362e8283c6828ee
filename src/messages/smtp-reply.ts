/** One SMTP reply as a remote server gave it: `550 5.1.1 No such user`. */
export interface SmtpReply {
  /** The three-digit reply code (RFC 5321 §4.2). */
  code: number;
  /** The enhanced status code (RFC 3463), e.g. `5.1.1`, when the reply carries one. */
  enhanced: string | null;
  /** The text after the codes, multi-line replies joined with spaces. */
  message: string;
}

const MAX_MESSAGE = 1000;
const LINE = /^(\d{3})(?:[ -](.*))?$/;
const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})(?=\s|$)/;

/**
 * Parses a reply such as nodemailer hands it over (lines joined with `\n`). The enhanced code
 * counts only when its class matches the reply code's first digit (RFC 3463 §2), so a
 * `250 2.0.0` is read but a `550 2.0.0` is not. Returns null for text that is not a reply.
 */
export function parseReply(raw: string | undefined | null): SmtpReply | null {
  const lines = String(raw ?? '')
    .split(/\r?\n/)
    .map((l) => l.trimEnd())
    .filter(Boolean);
  const first = lines.length ? LINE.exec(lines[0]) : null;
  if (!first) return null;
  const code = Number(first[1]);
  const head = ENHANCED.exec(first[2] ?? '');
  const enhanced = head && Number(head[1]) === Math.floor(code / 100) ? `${head[1]}.${Number(head[2])}.${Number(head[3])}` : null;
  const texts = lines.map((l) => {
    const m = LINE.exec(l);
    const text = m ? (m[2] ?? '') : l;
    // Multi-line replies repeat the enhanced code on every line; keep it out of the text.
    const e = ENHANCED.exec(text);
    return enhanced && e ? text.slice(e[0].length).trim() : text.trim();
  });
  return { code, enhanced, message: texts.filter(Boolean).join(' ').slice(0, MAX_MESSAGE) };
}

/** `550 5.1.1 No such user`, for reasons and logs. */
export function formatReply(r: SmtpReply): string {
  return [String(r.code), r.enhanced, r.message].filter(Boolean).join(' ');
}
