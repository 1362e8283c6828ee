declare module 'mx-connect' {
  import type { Socket } from 'node:net';

  type NodeCallback = (err: Error | null, records?: unknown[]) => void;

  export interface MxEntry {
    exchange: string;
    priority?: number;
    A?: string[];
    AAAA?: string[];
  }

  export interface MxConnectOptions {
    target: string;
    port?: number;
    maxConnectTime?: number;
    localAddress?: string;
    localHostname?: string;
    dnsOptions?: {
      ignoreIPv6?: boolean;
      preferIPv6?: boolean;
      blockLocalAddresses?: boolean;
      resolve?: (name: string, typeOrCb: string | NodeCallback, cb?: NodeCallback) => void;
    };
    mx?: Array<string | MxEntry>;
    ignoreMXHosts?: string[];
    mxLastError?: Error | false;
    connectError?: (err: Error & { response?: string }, delivery: unknown, options: { host: string; port: number }) => void;
    mtaSts?: { enabled?: boolean };
  }

  export interface MxConnection {
    socket: Socket;
    hostname: string;
    host: string;
    port: number;
    priority: number;
    localAddress?: string;
    localHostname?: string | false;
    localPort?: number;
  }

  function mxConnect(options: MxConnectOptions): Promise<MxConnection>;
  export default mxConnect;
}
