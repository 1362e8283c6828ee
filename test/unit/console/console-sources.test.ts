import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(__dirname, '..', '..', '..', 'src', 'console', 'web');
const sources = readdirSync(dir)
  .filter((f) => /\.(tsx?|html|css)$/.test(f))
  .map((f) => ({ file: f, text: readFileSync(join(dir, f), 'utf8') }));

// Attacker-controlled strings (the TXT values a nameserver returns) reach the console: it must
// render everything as text, and its CSP allows no inline code, no other origin.
describe('the console sources', () => {
  it('are there to check', () => {
    expect(sources.map((s) => s.file)).toEqual(expect.arrayContaining(['index.html', 'app.tsx', 'records.tsx', 'style.css']));
  });

  it.each([
    ['raw HTML', /dangerouslySetInnerHTML|innerHTML|outerHTML|insertAdjacentHTML|document\.write/],
    ['eval or string timers', /\beval\(|new Function\(|setTimeout\(\s*['"`]/],
    ['inline styles', /\bstyle=\{|<style/],
    ['another origin', /https?:\/\/(?!example\.com|www\.w3\.org)/],
  ])('never use %s', (_what, pattern) => {
    expect(sources.filter((s) => pattern.test(s.text)).map((s) => s.file)).toEqual([]);
  });

  it('keep the API key in sessionStorage, never in a cookie or localStorage', () => {
    const all = sources.map((s) => s.text).join('\n');
    expect(all).toContain('sessionStorage');
    expect(all).not.toMatch(/document\.cookie|localStorage/);
  });
});
