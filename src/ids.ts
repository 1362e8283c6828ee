import { randomBytes } from 'node:crypto';

/**
 * A prefixed, time-ordered id: `dom_` + 10 chars of milliseconds + 16 random chars,
 * all base32 (Crockford-like, lowercase). Sorting ids sorts by creation time, which
 * cursor pagination relies on.
 */
export function newId(prefix: string, now = Date.now()): string {
  const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = alphabet[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const rand = randomBytes(16);
  let tail = '';
  for (let i = 0; i < 16; i++) tail += alphabet[rand[i] % 32];
  return `${prefix}_${time}${tail}`;
}

/** The shape of an id made by newId with this (three-letter) prefix. */
export function idPattern(prefix: string): RegExp {
  return new RegExp(`^${prefix}_[0-9a-z]{26}$`);
}

/** True when `id` has the shape of an id made by newId with this prefix. */
export function isId(id: string, prefix: string): boolean {
  return idPattern(prefix).test(id);
}
