import { Readable } from 'node:stream';
import { DataScanner, MAX_HEADER_BYTES, type ScanDefect } from '../../../src/relay/data-scanner';

/** Runs `bytes` through a scanner in pieces of `size` bytes; returns the defect, what it passed on and what it kept. */
async function scan(bytes: Buffer, size: number, maxBytes = 1024 * 1024) {
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) pieces.push(bytes.subarray(i, i + size));
  const scanner = new DataScanner(maxBytes);
  const passed: Buffer[] = [];
  scanner.on('data', (c: Buffer) => passed.push(c));
  await new Promise<void>((resolve, reject) => {
    scanner.on('end', resolve);
    scanner.on('error', reject);
    Readable.from(pieces).pipe(scanner);
  });
  return { defect: scanner.defect, passed: Buffer.concat(passed), raw: scanner.raw(), bytes: scanner.bytes };
}

const b = (s: string) => Buffer.from(s, 'latin1');
const header = 'From: a@b.example\r\nSubject: s\r\n\r\n';

/** Header lines and the empty line that ends them, `total` bytes in all. */
function headerSection(total: number): string {
  const line = `X-Filler: ${'h'.repeat(60)}\r\n`;
  let s = '';
  while (total - s.length - 2 > line.length + 10) s += line;
  return `${s}Y: ${'y'.repeat(total - s.length - 2 - 2 - 3)}\r\n\r\n`;
}

describe('DataScanner: the DATA bytes as the client sent them', () => {
  const cases: [string, Buffer, ScanDefect | null][] = [
    ['a CRLF message', b(`${header}line\r\n`), null],
    ['an empty message', b(''), null],
    ['a line of exactly 998 bytes', b(`${header}${'x'.repeat(998)}\r\n`), null],
    ['a line of 999 bytes', b(`${header}${'x'.repeat(999)}\r\n`), 'line-too-long'],
    ['a header line of 999 bytes', b(`X-Long: ${'x'.repeat(991)}\r\n\r\n`), 'line-too-long'],
    ['a line of 999 bytes with no end', b(`${header}${'x'.repeat(999)}`), 'line-too-long'],
    ['a bare LF', b(`${header}one\ntwo\r\n`), 'bare-newline'],
    ['a bare LF as the first byte', b('\nFrom: a@b.example\r\n'), 'bare-newline'],
    ['a bare CR', b('Subject: hi\rFrom: ceo@victim.example\r\n\r\n'), 'bare-newline'],
    ['CR CR LF', b(`${header}one\r\r\n`), 'bare-newline'],
    ['LF CR', b(`${header}one\n\r`), 'bare-newline'],
    ['a CR as the last byte', b(`${header}one\r`), 'bare-newline'],
    ['a header section of exactly 64 KiB (its empty line included)', b(`${headerSection(MAX_HEADER_BYTES)}body\r\n`), null],
    ['a header section one byte over 64 KiB', b(`${headerSection(MAX_HEADER_BYTES + 1)}body\r\n`), 'header-too-long'],
    ['a header section without its empty line, over 64 KiB', b(headerSection(MAX_HEADER_BYTES + 3).slice(0, -2)), 'header-too-long'],
    ['a 64 KiB body after a short header', b(`${header}${`${'z'.repeat(78)}\r\n`.repeat(1000)}`), null],
  ];

  it.each(cases)('%s', async (_label, bytes, defect) => {
    // The verdict must not depend on how the bytes arrive.
    for (const size of [1, 2, 3, 7, 64, 1000, 65536]) {
      const out = await scan(bytes, size);
      expect([size, out.defect]).toEqual([size, defect]);
      expect(out.bytes).toBe(bytes.length);
      if (!defect) {
        expect(out.raw.equals(bytes)).toBe(true);
        expect(out.passed.equals(bytes)).toBe(true);
      } else expect(out.raw.length).toBe(0);
    }
  });

  it('passes nothing of the chunk that holds the defect, nor anything after it', async () => {
    const out = await scan(b(`${header}${'x'.repeat(2000)}\r\nmore\r\n`), 16);
    expect(out.defect).toBe('line-too-long');
    // Everything passed on ends within the bounded line.
    expect(out.passed.length).toBeLessThanOrEqual(header.length + 998 + 16);
    expect(out.passed.equals(b(`${header}${'x'.repeat(2000)}`).subarray(0, out.passed.length))).toBe(true);
  });

  it('answers too-big past maxBytes whatever else it found, and counts every byte', async () => {
    const big = b(`${header}${'x'.repeat(5000)}\r\n`);
    const out = await scan(big, 512, 4096);
    expect(out.defect).toBe('too-big');
    expect(out.bytes).toBe(big.length);
    expect(out.passed.length).toBeLessThan(1024 + header.length);
    expect((await scan(b(`${header}${'abc\r\n'.repeat(1000)}`), 512, 4096)).defect).toBe('too-big');
    expect((await scan(b(`${header}${'abc\r\n'.repeat(10)}`), 512, header.length + 50)).defect).toBeNull();
    expect((await scan(b(`${header}${'abc\r\n'.repeat(10)}`), 512, header.length + 49)).defect).toBe('too-big');
  });
});
