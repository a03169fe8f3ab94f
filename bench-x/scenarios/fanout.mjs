import { summary } from '../lib/stats.mjs';

/** One sender into a group of `members`, each member with a socket: time to the last socket. */
export async function fanout(parley, { members = 1000, messages = 50 } = {}, load) {
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
  load?.begin();
  for (let i = 0; i < messages; i++) {
    const content = `f${i}`;
    const entry = { count: 0, last: 0 };
    const done = new Promise((resolve) => (entry.done = resolve));
    arrivals.set(content, entry);
    const start = performance.now();
    await parley.send(sender, group.id, content);
    await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    toLast.push(entry.last - start);
  }
  load?.end();
  for (const socket of sockets) socket.close();
  const complete = [...arrivals.values()].filter((e) => e.count === users.length).length;
  return { scenario: 'fanout', members: users.length, messages, complete, toLastSocketMs: summary(toLast) };
}
