import { createLogger } from '../../../src/logger';
import { AllowlistCache } from '../../../src/relay/allowlist-cache';
import { AuthenticatedSessions } from '../../../src/relay/authenticated-sessions';
import type { SmtpRejection } from '../../../src/relay/smtp-replies';

async function setup(lists: Record<string, string[]>, users: string[]) {
  const db = new Map(Object.entries(lists));
  const existing = new Set(users);
  const allowlist = new AllowlistCache(
    async () => [...db].map(([domainId, cidrs]) => ({ domainId, cidrs })),
    async (id) => db.get(id) ?? null,
  );
  await allowlist.refresh();
  const sessions = new AuthenticatedSessions(
    allowlist,
    { existingUsernames: async (names) => new Set(names.filter((n) => existing.has(n))) },
    createLogger('silent'),
  );
  const closed: Array<[string, string]> = [];
  const closer = (id: string) => (reply: SmtpRejection) => closed.push([id, `${reply.smtpCode} ${reply.text}`]);
  return { db, existing, allowlist, sessions, closed, closer };
}

const user = (username: string, domainId: string) => ({ username, domainId, accountId: 'acc' });

describe('AuthenticatedSessions', () => {
  it('refuses to admit a user removed while its AUTH ran, and admits one removed before an earlier AUTH only', async () => {
    const { sessions, closer } = await setup({ d1: ['192.0.2.0/24'] }, ['alice']);
    const early = sessions.beginAuth();
    sessions.userRemoved('alice');
    const late = sessions.beginAuth();
    expect(sessions.admit(early, 's1', user('alice', 'd1'), '192.0.2.1', closer('s1'))).toBe(false);
    // `late` began after the removal: its own lookup would have seen it (the store is the judge there).
    expect(sessions.admit(late, 's2', user('alice', 'd1'), '192.0.2.1', closer('s2'))).toBe(true);
    expect(sessions.size).toBe(1);
  });

  it('refuses to admit an address its domain no longer allows', async () => {
    const { sessions, closer } = await setup({ d1: ['192.0.2.0/24'] }, ['alice']);
    expect(sessions.admit(sessions.beginAuth(), 's1', user('alice', 'd1'), '198.51.100.1', closer('s1'))).toBe(false);
    expect(sessions.size).toBe(0);
  });

  it('closes sessions whose user is gone or whose address left the allowlist on revalidation', async () => {
    const { db, existing, allowlist, sessions, closed, closer } = await setup({ d1: ['192.0.2.0/24'], d2: ['198.51.100.0/24'] }, ['alice', 'bob', 'carol']);
    sessions.admit(sessions.beginAuth(), 's1', user('alice', 'd1'), '192.0.2.1', closer('s1'));
    sessions.admit(sessions.beginAuth(), 's2', user('bob', 'd1'), '192.0.2.2', closer('s2'));
    sessions.admit(sessions.beginAuth(), 's3', user('carol', 'd2'), '198.51.100.3', closer('s3'));
    existing.delete('bob');
    db.set('d2', []);
    await allowlist.refresh();
    await sessions.revalidate();
    expect(closed.sort()).toEqual([
      ['s2', '421 4.7.0 Authorization withdrawn, closing connection'],
      ['s3', '421 4.7.0 Authorization withdrawn, closing connection'],
    ]);
    expect(sessions.size).toBe(1);
    sessions.closed('s1');
    expect(sessions.size).toBe(0);
  });
});
