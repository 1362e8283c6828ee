declare module 'mailsplit' {
  import { Transform } from 'node:stream';
  export interface MimeNode {
    type: 'node';
    root: boolean;
    contentType: string | false;
    disposition: string | false;
    filename: string | false;
    multipart: string | false;
    headers: { getFirst(key: string): string; get(key: string): string[] };
    parentNode: MimeNode | false;
    /** The header section as it arrived (while unchanged). */
    getHeaders(): Buffer;
    /** A stream that undoes the part's Content-Transfer-Encoding: libqp's or libbase64's Decoder, else a PassThrough. */
    getDecoder(): Transform;
  }
  /** What a Splitter emits: each part once its header is read, then its body or multipart data. */
  export type SplitterChunk = MimeNode | { type: 'body' | 'data'; node: MimeNode; value: Buffer };
  export class Splitter extends Transform {
    constructor(options?: { ignoreEmbedded?: boolean; maxHeadSize?: number; maxChildNodes?: number });
  }
  /** A header block parsed as RFC 5322 fields (folding undone, encoded words decoded by getFirst). */
  export class Headers {
    constructor(headers: Buffer | string);
    getFirst(key: string): string;
    get(key: string): string[];
  }
}
declare module 'nodemailer/lib/addressparser' {
  interface ParsedAddress {
    name: string;
    address?: string;
    group?: ParsedAddress[];
  }
  function addressparser(str: string, options?: { flatten?: boolean }): ParsedAddress[];
  export = addressparser;
}
