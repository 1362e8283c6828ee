import { Writable } from 'node:stream';
import { createLogger, wantsPrettyLogs } from '../../src/logger';

/** Collects what a logger writes. */
function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('wantsPrettyLogs', () => {
  it.each([
    [{ NODE_ENV: 'production' }, true, false],
    [{ NODE_ENV: 'production' }, false, false],
    [{ NODE_ENV: 'development' }, true, true],
    [{}, true, true],
    [{ NODE_ENV: 'development' }, false, false],
  ])('%j with a TTY %s: %s', (env, tty, expected) => {
    expect(wantsPrettyLogs(env, tty)).toBe(expected);
  });
});

describe('createLogger', () => {
  it('writes JSON lines by default, with a child logger’s queueId on each line', () => {
    const out = sink();
    createLogger('info', out.stream).child({ queueId: 'q1234' }).info({ password: 'hunter2' }, 'delivered');
    const line = JSON.parse(out.text().trim());
    expect(line).toMatchObject({ msg: 'delivered', queueId: 'q1234', service: 'mailwarden', password: '[redacted]' });
  });

  it('writes human-readable lines through pino-pretty when asked', () => {
    const out = sink();
    createLogger('info', out.stream, { pretty: true }).child({ domainId: 'dom_1' }).info('domain status changed');
    const text = out.text();
    expect(() => JSON.parse(text.trim())).toThrow();
    expect(text).toContain('domain status changed');
    expect(text).toContain('domainId: "dom_1"');
  });

  it('falls back to JSON when pino-pretty is not installed', () => {
    const out = sink();
    const missing = () => {
      throw Object.assign(new Error("Cannot find module 'pino-pretty'"), { code: 'MODULE_NOT_FOUND' });
    };
    createLogger('info', out.stream, { pretty: true, loadPretty: missing }).info('still logged');
    expect(JSON.parse(out.text().trim())).toMatchObject({ msg: 'still logged' });
  });
});
