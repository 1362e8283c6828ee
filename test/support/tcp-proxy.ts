import { createServer, connect, type Server, type Socket } from 'node:net';

interface Pair {
  client: Socket;
  upstream: Socket;
}

/**
 * A TCP proxy a test can cut, to take a real service "down" without stopping it, or
 * stall, to make it hang: connected, but answering nothing.
 */
/** A TcpProxy in front of the tests' Redis, with the URL to reach it through. */
export type RedisProxy = TcpProxy & { redisUrl: string };

export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private readonly pairs = new Set<Pair>();
  /** Connections accepted while stalled, waiting for restore() to reach upstream. */
  private held: Array<() => void> = [];
  private up = true;
  private stalled = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** A proxy in front of the tests' Redis; `redisUrl` is the URL to give a container instead. */
  static async toTestRedis(): Promise<RedisProxy> {
    const url = new URL(process.env.MW_TEST_REDIS_URL!);
    const proxy = await TcpProxy.start(url.hostname, Number(url.port || 6379));
    return Object.assign(proxy, { redisUrl: `redis://127.0.0.1:${proxy.port}` });
  }

  /** A proxy in front of the tests' MongoDB; `mongodbUri` is the URI to give a container instead. */
  static async toTestMongo(): Promise<TcpProxy & { mongodbUri: string }> {
    const url = new URL(process.env.MW_TEST_MONGODB_URI!);
    const proxy = await TcpProxy.start(url.hostname, Number(url.port || 27017));
    return Object.assign(proxy, { mongodbUri: proxy.uri(url.toString()) });
  }

  /** `uri` with its host and port replaced by this proxy's (and its path, when given). */
  uri(uri: string, pathname?: string): string {
    const u = new URL(uri);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    if (pathname !== undefined) u.pathname = pathname;
    return u.toString();
  }

  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    let proxy!: TcpProxy;
    const server = createServer((client) => {
      if (!proxy.up) return void client.destroy();
      proxy.track(client);
      const forward = () => {
        if (client.destroyed) return;
        const upstream = connect({ host: targetHost, port: targetPort });
        proxy.track(upstream);
        const pair = { client, upstream };
        proxy.pairs.add(pair);
        client.on('close', () => {
          proxy.pairs.delete(pair);
          upstream.destroy();
        });
        upstream.on('close', () => client.destroy());
        client.pipe(upstream).pipe(client);
      };
      if (proxy.stalled) {
        // Accepted, but nothing reaches the service until restore().
        client.pause();
        proxy.held.push(forward);
      } else forward();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    proxy = new TcpProxy(server, (server.address() as { port: number }).port);
    return proxy;
  }

  private track(s: Socket): void {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => s.destroy());
  }

  /** Drops every connection and refuses new ones. */
  cut(): void {
    this.up = false;
    this.held = [];
    for (const s of this.sockets) s.destroy();
  }

  /**
   * Keeps every connection open but forwards nothing in either direction, and accepts new
   * connections without reaching the service: a service that hangs. What was sent
   * meanwhile is delivered on restore().
   */
  stall(): void {
    this.stalled = true;
    for (const { client, upstream } of this.pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
  }

  /** Ends a cut or a stall. */
  restore(): void {
    this.up = true;
    if (!this.stalled) return;
    this.stalled = false;
    for (const { client, upstream } of this.pairs) client.pipe(upstream).pipe(client);
    const held = this.held;
    this.held = [];
    for (const forward of held) forward();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
