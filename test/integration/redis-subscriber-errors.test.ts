import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { createLogger } from '../../src/logger';
import { InvalidationSubscriber } from '../../src/relay/invalidation-subscriber';
import { eventually } from '../support/eventually';

/**
 * The relay's and workers' invalidation subscriber while Redis refuses connections: every
 * error goes to the structured log, none to stderr as ioredis' "Unhandled error event".
 */
describe('InvalidationSubscriber with Redis away', () => {
  it('logs refused connections as warnings and leaves stderr alone', async () => {
    // A port that was free a moment ago: connecting to it is refused.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const lines: string[] = [];
    const logTo = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const stderr = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const redis = new Redis(`redis://127.0.0.1:${port}`, { retryStrategy: (times) => (times < 3 ? 20 : null), maxRetriesPerRequest: 0 });
    const subscriber = new InvalidationSubscriber(redis, createLogger('warn', logTo));
    try {
      await eventually(() => redis.status, { until: (s) => s === 'end', timeoutMs: 10_000, message: 'ioredis to give up' });
      const warnings = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'redis subscriber connection error');
      expect(warnings.length).toBeGreaterThan(0);
      expect(warnings[0].err).toMatch(/ECONNREFUSED/);
      expect(stderr.mock.calls.filter((c) => String(c[0]).includes('Unhandled error event'))).toEqual([]);
    } finally {
      stderr.mockRestore();
      await subscriber.close();
    }
  });
});
