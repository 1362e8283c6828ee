import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Splitter, type MimeNode } from 'mailsplit';
import addressparser from 'nodemailer/lib/addressparser';

/** What the relay needs to know about a message before it accepts it. */
export interface InspectedMessage {
  raw: Buffer;
  /** Why the message counts as having an attachment, or null. */
  attachment: string | null;
  /** Domains of the top-level From: addresses (lowercase). */
  fromDomains: string[];
}

const TEXT_TYPES = new Set(['text/plain', 'text/html']);

/** DESIGN §5: any attachment is refused; plain text, HTML and multipart/alternative are fine. */
export function attachmentReason(node: Pick<MimeNode, 'contentType' | 'disposition' | 'filename' | 'multipart'>): string | null {
  if (node.multipart) return null;
  const type = node.contentType || 'text/plain';
  if (node.disposition === 'attachment') return `a part with Content-Disposition: attachment (${type})`;
  if (type.startsWith('application/')) return `an ${type} part`;
  if (node.filename && !TEXT_TYPES.has(type)) return `a ${type} part with a file name`;
  if (!TEXT_TYPES.has(type) && !type.startsWith('multipart/')) return `a ${type} part`;
  return null;
}

function domainsOf(header: string): string[] {
  const flat = addressparser(header, { flatten: true });
  return flat
    .map((a) => a.address ?? '')
    .filter((a) => a.includes('@'))
    .map((a) => a.slice(a.lastIndexOf('@') + 1).toLowerCase().replace(/\.$/, ''));
}

/**
 * Streams the message through a real MIME parser (mailsplit) while keeping its raw
 * bytes, so attachments are found part by part without building the whole tree.
 */
export async function inspectMessage(stream: Readable, maxBytes: number): Promise<InspectedMessage & { tooBig: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let attachment: string | null = null;
  let fromDomains: string[] = [];
  // Past the limit the rest is read and dropped: the reply will be 552 anyway.
  stream.on('data', (c: Buffer) => {
    size += c.length;
    if (size <= maxBytes) chunks.push(c);
  });
  const splitter = new Splitter();
  const sink = new Writable({
    objectMode: true,
    write(data: MimeNode | { type: string }, _enc, done) {
      if (data.type === 'node') {
        const node = data as MimeNode;
        if (node.root) fromDomains = domainsOf(node.headers.get('from').join(', '));
        attachment ??= attachmentReason(node);
      }
      done();
    },
  });
  await pipeline(stream, splitter, sink);
  return { raw: Buffer.concat(chunks), attachment, fromDomains, tooBig: size > maxBytes };
}
