import { Writable } from 'node:stream';
import { createLogger } from '../../src/logger';
import { stopWithin } from '../../src/shutdown';

function logger() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, log: createLogger('info', sink) };
}

const never = () => new Promise<void>(() => {});

describe('stopWithin', () => {
  it('runs every step in order and is not forced when they all finish', async () => {
    const order: string[] = [];
    const step = (name: string) => ({ name, run: async () => void order.push(name) });
    const { log } = logger();
    await expect(stopWithin([step('roles'), step('stores')], 60_000, log)).resolves.toEqual({ forced: false, abandoned: [] });
    expect(order).toEqual(['roles', 'stores']);
  });

  it('goes on with the next step when one fails, and logs the failure', async () => {
    const ran: string[] = [];
    const { lines, log } = logger();
    const result = await stopWithin(
      [
        { name: 'roles', run: () => Promise.reject(new Error('connection is closed')) },
        { name: 'stores', run: async () => void ran.push('stores') },
      ],
      60_000,
      log,
    );
    expect(result).toEqual({ forced: false, abandoned: [] });
    expect(ran).toEqual(['stores']);
    expect(lines.join('')).toMatch(/"step":"roles","err":"connection is closed"/);
  });

  it('abandons the step that hangs past the deadline and every step after it', async () => {
    const ran: string[] = [];
    const { log } = logger();
    const result = await stopWithin(
      [
        { name: 'api', run: async () => void ran.push('api') },
        { name: 'workers', run: never },
        { name: 'stores', run: async () => void ran.push('stores') },
      ],
      50,
      log,
    );
    expect(result).toEqual({ forced: true, abandoned: ['workers', 'stores'] });
    expect(ran).toEqual(['api']);
  });
});
