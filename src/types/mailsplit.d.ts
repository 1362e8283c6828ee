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
  }
  export class Splitter extends Transform {
    constructor(options?: { ignoreEmbedded?: boolean; maxHeadSize?: number });
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
