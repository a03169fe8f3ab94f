import { summary } from '../lib/stats.mjs';

/**
 * One sender into a group of `members`, each member with a socket: time from the send
 * to the last socket, per message. A few messages first warm the path up, uncounted.
 */
export async function fanout(parley, { members = 1000, messages = 200, warmup = 5 } = {}, load) {
  const users = await parley.users(members, 'fan');
  const [sender, ...others] = users;
  const group = await parley.group(sender, others);
  const arrivals = new Map(); // content -> { count, last }
  const sockets = [];
  for (let i = 0; i < users.length; i += 100) {
    sockets.push(
      ...(await Promise.all(
        users.slice(i, i + 100).map((user) =>
          parley.socket(user, (frame, at) => {
            if (frame.event !== 'message.created') return;
            const entry = arrivals.get(frame.data.content) ?? { count: 0, last: 0 };
            entry.count += 1;
            entry.last = Math.max(entry.last, at);
            arrivals.set(frame.data.content, entry);
            if (entry.count === users.length) entry.done?.();
          }),
        ),
      )),
    );
  }
  const toLast = [];
  /** Sends one message and waits for it on every socket (10 s at most); the time to the last one. */
  const oneMessage = async (content) => {
    const entry = { count: 0, last: 0 };
    const done = new Promise((resolve) => (entry.done = resolve));
    arrivals.set(content, entry);
    const start = performance.now();
    await parley.send(sender, group.id, content);
    let timer;
    await Promise.race([done, new Promise((resolve) => (timer = setTimeout(resolve, 10_000)))]);
    clearTimeout(timer);
    return entry.last - start;
  };
  for (let i = 0; i < warmup; i++) await oneMessage(`warm${i}`);
  load?.begin();
  for (let i = 0; i < messages; i++) toLast.push(await oneMessage(`f${i}`));
  load?.end();
  for (const socket of sockets) socket.close();
  const complete = [...arrivals.entries()].filter(([c, e]) => c.startsWith('f') && e.count === users.length).length;
  return {
    scenario: 'fanout',
    members: users.length,
    warmupMessages: warmup,
    messages,
    complete,
    toLastSocketMs: summary(toLast),
  };
}
