import { createGroup, openDirect, registerUser, sendMessage, type RegisteredUser } from './support/factories';
import { countQueries } from './support/query-counter';
import { startTestApp, type TestApp } from './support/test-app';

/** Hot paths cost a fixed number of SQL statements, whatever the page size (no N+1). */
describe('SQL statements per request', () => {
  let t: TestApp;
  let me: RegisteredUser;
  let conversations: string[];
  beforeAll(async () => {
    t = await startTestApp();
    me = await registerUser(t.http);
    const peers = await Promise.all(Array.from({ length: 12 }, () => registerUser(t.http)));
    conversations = [];
    for (const peer of peers.slice(0, 8)) {
      const id = await openDirect(t.http, me, peer);
      const message = await sendMessage(t.http, peer, id, 'hi');
      await t.http.put(`/api/v1/messages/${message.id}/reactions/${encodeURIComponent('👍')}`, undefined, {
        token: me.accessToken,
      });
      conversations.push(id);
    }
    conversations.push(await createGroup(t.http, me, peers.slice(8)));
    for (let i = 0; i < 60; i++) await sendMessage(t.http, i % 2 ? me : peers[0], conversations[0], `history ${i}`);
  });
  afterAll(() => t.close());

  const measure = <T extends { status: number }>(fn: () => Promise<T>) =>
    countQueries(async () => {
      const res = await fn();
      expect(res.status).toBeLessThan(300);
      return res;
    });

  it('a send costs 1 statement (one CTE: membership, seq, recipients and the INSERT)', async () => {
    const { count, queries } = await measure(() =>
      t.http.post(`/api/v1/conversations/${conversations[1]}/messages`, { content: 'x' }, { token: me.accessToken }),
    );
    expect({ count, queries }).toEqual({ count: 1, queries: expect.any(Array) });
  });

  it('a history page costs the same for 2 and for 60 messages', async () => {
    const small = await measure(() =>
      t.http.get(`/api/v1/conversations/${conversations[0]}/messages?limit=2`, { token: me.accessToken }),
    );
    const large = await measure(() =>
      t.http.get(`/api/v1/conversations/${conversations[0]}/messages?limit=60`, { token: me.accessToken }),
    );
    expect(large.count).toBe(small.count);
    expect(large.count).toBe(3); // membership, the page, its reactions
  });

  it('a conversation list page costs the same for 1 and for 9 conversations', async () => {
    const small = await measure(() => t.http.get('/api/v1/conversations?limit=1', { token: me.accessToken }));
    const large = await measure(() => t.http.get('/api/v1/conversations?limit=20', { token: me.accessToken }));
    expect(large.result.body.items).toHaveLength(9);
    expect(large.count).toBe(small.count);
    expect(large.count).toBe(6); // page, participants, users, last messages, their reactions, unread counts
  });

  it('GET /unread costs 2 statements whatever the number of conversations', async () => {
    const { count } = await measure(() => t.http.get('/api/v1/unread', { token: me.accessToken }));
    expect(count).toBe(2);
  });
});
