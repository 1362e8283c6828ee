import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * A stored SMTP password: scrypt with its parameters kept beside the hash, so that
 * the cost can be raised later without breaking the users created before.
 */
export interface PasswordHash {
  algorithm: 'scrypt';
  N: number;
  r: number;
  p: number;
  keyLength: number;
  /** 16 random bytes, base64. */
  salt: string;
  /** base64. */
  hash: string;
}

const PARAMS = { N: 16384, r: 8, p: 1, keyLength: 32 } as const;
// Refuse stored parameters that would make one AUTH attempt cost more than about 64 MiB.
const MAX_MEMORY = 64 * 1024 * 1024;

/**
 * At most this many scrypt runs at once in the process. scrypt runs on libuv's thread
 * pool (4 threads unless UV_THREADPOOL_SIZE says otherwise), which also serves fs,
 * dns.lookup and zlib; an AUTH flood must queue here, in JavaScript, instead of filling
 * every pool thread and stalling the rest of the process. Two leaves half of the
 * default pool free. The limit is process-wide on purpose: so is the pool.
 */
export const MAX_CONCURRENT_SCRYPT = 2;

let running = 0;
const waiting: Array<() => void> = [];

async function withScryptSlot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT_SCRYPT) await new Promise<void>((resolve) => waiting.push(resolve));
  else running++;
  try {
    return await work();
  } finally {
    // The slot passes straight to the next waiter, so `running` never drops and rises again.
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

function derive(password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return withScryptSlot(
    () =>
      new Promise<Buffer>((resolve, reject) => {
        scrypt(password, salt, keyLength, { ...options, maxmem: MAX_MEMORY }, (err, key) => (err ? reject(err) : resolve(key)));
      }),
  );
}

/**
 * What an unknown username is checked against: random bytes under the current
 * parameters. It matches no password, and checking it costs what checking a real user's
 * hash costs, so the time of a refusal does not tell which usernames exist.
 */
const DUMMY_HASH: PasswordHash = {
  algorithm: 'scrypt',
  ...PARAMS,
  salt: randomBytes(16).toString('base64'),
  hash: randomBytes(PARAMS.keyLength).toString('base64'),
};

/** A generated SMTP password: 24 random bytes as 32 base64url characters. */
export function generatePassword(): string {
  return randomBytes(24).toString('base64url');
}

/** Hashes a password with scrypt under a fresh random 16-byte salt and the current parameters. */
export async function hashPassword(password: string): Promise<PasswordHash> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, PARAMS.keyLength, { N: PARAMS.N, r: PARAMS.r, p: PARAMS.p });
  return { algorithm: 'scrypt', ...PARAMS, salt: salt.toString('base64'), hash: key.toString('base64') };
}

/**
 * True when `candidate` is the password `stored` was made from. Uses the parameters
 * stored with the hash and compares in constant time. Throws on a stored hash it
 * cannot read (an unknown algorithm or out-of-range parameters): that is corrupt data,
 * not a wrong password.
 */
export async function verifyPassword(stored: PasswordHash, candidate: string): Promise<boolean> {
  if (stored.algorithm !== 'scrypt') throw new Error(`unsupported password hash algorithm: ${String(stored.algorithm)}`);
  const expected = Buffer.from(stored.hash, 'base64');
  if (expected.length < 16 || expected.length !== stored.keyLength) throw new Error('stored password hash is malformed');
  const key = await derive(candidate, Buffer.from(stored.salt, 'base64'), stored.keyLength, { N: stored.N, r: stored.r, p: stored.p });
  return timingSafeEqual(key, expected);
}

/**
 * verifyPassword for a user who may not exist: with no stored hash the candidate is
 * checked against a dummy hash at the same cost, and the answer is false.
 */
export async function verifyPasswordOrDummy(stored: PasswordHash | null, candidate: string): Promise<boolean> {
  if (stored) return verifyPassword(stored, candidate);
  await verifyPassword(DUMMY_HASH, candidate);
  return false;
}
