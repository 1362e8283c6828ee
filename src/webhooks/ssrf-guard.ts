import { promises as dns } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { AppError } from '../errors';
import { isPublicAddress } from '../net/ip-range';
import { VERSION } from '../version';

/** One resolved address, as `dns.promises.lookup(host, { all: true })` returns it. */
export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to all of its addresses. */
export type HostLookup = (host: string) => Promise<ResolvedAddress[]>;

/** A webhook URL that must not be called: wrong scheme, or an address that is not public. */
export class WebhookUrlRefusedError extends AppError {
  constructor(readonly reason: string) {
    super('webhook_url_refused', 400, `webhook URL refused: ${reason}`);
  }
}

export interface SendWebhookOptions {
  /** The subscriber's http: or https: URL. */
  url: string;
  /** The JSON body, sent exactly as signed. */
  body: string;
  /** Extra request headers, typically the `webhook-*` signature headers. */
  headers: Record<string, string>;
  /** Budget for the whole attempt: resolution, connect, request and reading the response. */
  timeoutMs: number;
  /** At most this many response bytes are read; the rest is discarded with the socket. */
  maxResponseBytes: number;
  /** Lets private, loopback and other non-public addresses through (development and tests only). */
  allowPrivate: boolean;
  /** Name resolution; defaults to the system resolver with every address in its own order. */
  lookup?: HostLookup;
}

export interface WebhookResponse {
  /** The subscriber's HTTP status; a redirect is reported as is, never followed. */
  status: number;
  /** The first `maxResponseBytes` of the response body, as UTF-8. */
  bodySnippet: string;
  latencyMs: number;
}

export { isPublicAddress };

const defaultLookup: HostLookup = (host) => dns.lookup(host, { all: true, verbatim: true });

/**
 * Refuses a non-public address. A literal is named (the caller wrote it); for a name, the
 * address it resolved to is not: the reason reaches logs and the delivery log, and must not
 * map out the internal network for whoever controls the name's DNS.
 */
function vet(address: string, host: string, allowPrivate: boolean): void {
  if (allowPrivate || isPublicAddress(address)) return;
  throw new WebhookUrlRefusedError(address === host ? `${host}, which is not a public address` : `${host} resolves to a non-public address`);
}

/**
 * Picks the one address a delivery connects to. An IP literal is vetted as is; a name is
 * refused when ANY of its addresses is non-public, because a mixed answer lets the
 * attacker's name land on the private one on a later lookup.
 */
export async function resolveAndVet(host: string, lookup: HostLookup, allowPrivate: boolean): Promise<ResolvedAddress> {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const family = isIP(bare);
  if (family !== 0) {
    vet(bare, bare, allowPrivate);
    return { address: bare, family };
  }
  if (bare === '') throw new WebhookUrlRefusedError('the URL has no host');
  const addresses = await lookup(bare);
  if (addresses.length === 0) throw new WebhookUrlRefusedError(`${bare} resolves to no address`);
  for (const a of addresses) vet(a.address, bare, allowPrivate);
  return addresses[0];
}

/** Parses a webhook URL, refusing anything but http: and https:. */
export function parseWebhookUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new WebhookUrlRefusedError('not a valid absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new WebhookUrlRefusedError(`scheme ${url.protocol} is not allowed; use http: or https:`);
  }
  return url;
}

/** Hands the socket the vetted address, whatever name it asks for, so no second lookup can rebind. */
function pinnedLookup(vetted: ResolvedAddress): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) callback(null, [vetted]);
    else callback(null, vetted.address, vetted.family);
  };
}

function post(url: URL, vetted: ResolvedAddress, opts: SendWebhookOptions, signal: AbortSignal, started: number) {
  return new Promise<WebhookResponse>((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    const req = client.request(url, {
      method: 'POST',
      headers: {
        'user-agent': `mailwarden/${VERSION}`,
        ...opts.headers,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(opts.body)),
      },
      // A fresh agent per attempt: a pooled socket could belong to an earlier, differently vetted address.
      agent: false,
      lookup: pinnedLookup(vetted),
      signal,
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let received = 0;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        const snippet = Buffer.concat(chunks).subarray(0, opts.maxResponseBytes);
        resolve({ status: res.statusCode ?? 0, bodySnippet: snippet.toString('utf8'), latencyMs: Date.now() - started });
      };
      res.on('data', (chunk: Buffer) => {
        if (done) return;
        chunks.push(chunk);
        received += chunk.length;
        if (received >= opts.maxResponseBytes) {
          finish();
          // The rest of an oversized answer is never read; dropping the socket stops it.
          res.destroy();
        }
      });
      res.on('end', finish);
      res.on('error', (err) => {
        if (!done) reject(err);
      });
    });
    req.end(opts.body);
  });
}

/**
 * POSTs one webhook delivery to the vetted address of `opts.url`. The connection goes to the
 * address that passed the guard while the Host header and TLS SNI keep the URL's host name.
 * Rejects with WebhookUrlRefusedError for a refused URL and with Error('timeout') when the
 * whole attempt exceeds `opts.timeoutMs`.
 */
export async function sendWebhook(opts: SendWebhookOptions): Promise<WebhookResponse> {
  const started = Date.now();
  const url = parseWebhookUrl(opts.url);
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error('timeout'));
    }, opts.timeoutMs);
  });
  const attempt = async () => {
    const vetted = await resolveAndVet(url.hostname, opts.lookup ?? defaultLookup, opts.allowPrivate);
    controller.signal.throwIfAborted();
    return post(url, vetted, opts, controller.signal, started);
  };
  try {
    return await Promise.race([attempt(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
