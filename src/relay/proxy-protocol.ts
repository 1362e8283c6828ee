import { randomBytes } from 'node:crypto';
import { isIP, type Socket } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Command, IPv4ProxyAddress, IPv6ProxyAddress, V1ProxyProtocol, V2ProxyProtocol } from 'proxy-protocol-js';
import type { SMTPServer } from 'smtp-server';
import type { Logger } from '../logger';

/**
 * PROXY protocol (HAProxy's v1 text line and v2 binary header) in front of the relay,
 * accepted only from SMTP_PROXY_PROTOCOL_FROM (DESIGN §5).
 *
 * smtp-server's own `useProxy` reads v1 only, and trusts a list of exact addresses rather
 * than networks. This module keeps smtp-server's flow (its pre-session guard, its timeout,
 * the implicit TLS handshake after the header) and replaces just the two hooks that decide
 * whether a header is expected and how it is read; proxy-protocol-js parses both versions.
 */

/** Where the connection really comes from, as the load balancer reported it. */
export interface ProxiedPeer {
  /** null: the header carried no client address (v2 LOCAL, `PROXY UNKNOWN`, AF_UNSPEC): keep the socket's. */
  address: string | null;
  port: number | null;
}

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from('PROXY ');
/** v1: 107 bytes at most, CRLF included (the spec's bound). */
const V1_MAX = 107;
/** v2: 16 bytes of header and at most 65535 of addresses and TLVs; we accept TLVs up to a sane size. */
const V2_MAX = 16 + 1024;

export class ProxyHeaderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProxyHeaderError';
  }
}

/** The trusted networks, parsed once; an IPv4-mapped IPv6 peer matches its IPv4 network. */
export class TrustedProxies {
  private readonly ranges: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]>;

  constructor(readonly cidrs: readonly string[]) {
    this.ranges = cidrs.map((c) => (c.includes('/') ? ipaddr.parseCIDR(c) : ipaddr.parseCIDR(`${c}/${isIP(c) === 6 ? 128 : 32}`)));
  }

  get any(): boolean {
    return this.ranges.length > 0;
  }

  contains(ip: string | undefined): boolean {
    if (!ip || this.ranges.length === 0) return false;
    let addr: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      addr = ipaddr.process(ip.split('%')[0]);
    } catch {
      return false;
    }
    return this.ranges.some(([net, bits]) => net.kind() === addr.kind() && addr.match(net as never, bits));
  }
}

/**
 * Decides what `head` holds so far: a complete header (its length), not enough bytes yet
 * (0), or something that is no PROXY header at all (an error).
 */
export function proxyHeaderLength(head: Buffer): number {
  const probe = Math.min(head.length, V2_SIGNATURE.length);
  if (head.subarray(0, probe).equals(V2_SIGNATURE.subarray(0, probe))) {
    if (head.length < 16) return 0;
    const total = 16 + head.readUInt16BE(14);
    if (total > V2_MAX) throw new ProxyHeaderError('PROXY v2 header too long');
    return head.length >= total ? total : 0;
  }
  const v1probe = Math.min(head.length, V1_PREFIX.length);
  if (!head.subarray(0, v1probe).equals(V1_PREFIX.subarray(0, v1probe))) throw new ProxyHeaderError('not a PROXY header');
  const lf = head.indexOf(0x0a);
  if (lf < 0) {
    if (head.length >= V1_MAX) throw new ProxyHeaderError('PROXY v1 header too long');
    return 0;
  }
  if (lf + 1 > V1_MAX || head[lf - 1] !== 0x0d) throw new ProxyHeaderError('malformed PROXY v1 header');
  return lf + 1;
}

/** Parses one complete header (v1 or v2) into the client's address. */
export function parseProxyHeader(header: Buffer): ProxiedPeer {
  try {
    if (header[0] === V2_SIGNATURE[0]) {
      const v2 = V2ProxyProtocol.parse(new Uint8Array(header));
      if (v2.command === Command.LOCAL) return { address: null, port: null };
      const a = v2.proxyAddress;
      if (a instanceof IPv4ProxyAddress) return { address: a.sourceAddress.address.join('.'), port: a.sourcePort };
      if (a instanceof IPv6ProxyAddress) return { address: ipaddr.fromByteArray([...a.sourceAddress.address]).toString(), port: a.sourcePort };
      return { address: null, port: null };
    }
    const line = header.toString('latin1');
    if (/^PROXY UNKNOWN[ \r]/.test(line)) return { address: null, port: null };
    const v1 = V1ProxyProtocol.parse(line);
    // The address ends up in logs and lockout keys: anything but a plain IP is malformed.
    if (!isIP(v1.source.ipAddress) || !isIP(v1.destination.ipAddress)) throw new ProxyHeaderError('invalid PROXY v1 address');
    if (v1.source.port > 65535) throw new ProxyHeaderError('invalid PROXY v1 port');
    return { address: v1.source.ipAddress.toLowerCase(), port: v1.source.port };
  } catch (err) {
    if (err instanceof ProxyHeaderError) throw err;
    throw new ProxyHeaderError(`malformed PROXY header: ${(err as { message?: string }).message ?? String(err)}`);
  }
}

/** Reads one PROXY header from the start of `socket`, and gives back every byte after it. */
export function readProxyHeader(socket: Socket): Promise<ProxiedPeer> {
  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0);
    const finish = (err: Error | null, peer?: ProxiedPeer) => {
      socket.off('readable', onReadable);
      socket.off('error', finish);
      socket.off('close', onClose);
      socket.off('end', onClose);
      if (err) reject(err);
      else resolve(peer!);
    };
    const onClose = () => finish(new ProxyHeaderError('connection closed before the PROXY header'));
    const onReadable = () => {
      let chunk: Buffer | null;
      while ((chunk = socket.read() as Buffer | null) !== null) {
        head = Buffer.concat([head, chunk]);
        let length: number;
        try {
          length = proxyHeaderLength(head);
        } catch (err) {
          return finish(err as Error);
        }
        if (length === 0) continue;
        if (head.length > length) socket.unshift(head.subarray(length));
        try {
          return finish(null, parseProxyHeader(head.subarray(0, length)));
        } catch (err) {
          return finish(err as Error);
        }
      }
    };
    socket.on('readable', onReadable);
    socket.on('error', finish);
    socket.on('close', onClose);
    socket.on('end', onClose);
  });
}

interface SocketOptions {
  id: string;
  remoteAddress?: string;
  remotePort?: number;
  ignore?: boolean;
}

interface ProxyHooks {
  _expectsProxyHeader(socket: Socket): boolean;
  _handleProxy(socket: Socket, callback: (err: Error | null, options?: SocketOptions) => void): void;
}

/**
 * Makes `server` expect a PROXY header (v1 or v2) from every peer in `trusted`, and from
 * no one else: the session's remoteAddress (allowlist, lockout, logs) becomes the client's.
 * A peer outside `trusted` that starts with a PROXY header is talking before the greeting,
 * which smtp-server refuses with its 421, or sends an unknown command afterwards (500).
 */
export function acceptProxyHeaders(server: SMTPServer, trusted: TrustedProxies, logger: Logger): void {
  const hooks = server as unknown as ProxyHooks;
  const original = hooks._handleProxy.bind(server);
  hooks._expectsProxyHeader = (socket) => trusted.contains(socket.remoteAddress);
  hooks._handleProxy = (socket, callback) => {
    if (!trusted.contains(socket.remoteAddress)) return original(socket, callback);
    const id = BigInt(`0x${randomBytes(10).toString('hex')}`).toString(32).padStart(16, '0');
    readProxyHeader(socket).then(
      (peer) => {
        const options: SocketOptions = { id };
        if (peer.address) {
          options.remoteAddress = peer.address;
          if (peer.port) options.remotePort = peer.port;
        }
        callback(null, options);
      },
      (err: Error) => {
        logger.warn({ proxy: socket.remoteAddress, err: err.message }, 'smtp relay: refused a connection without a valid PROXY header');
        socket.on('error', () => undefined);
        socket.destroy();
        callback(err);
      },
    );
  };
}
