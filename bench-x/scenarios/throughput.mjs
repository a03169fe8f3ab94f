/** Closed loop: `senders` users each send their next message when the last one was stored. */
export async function throughput(parley, { senders = 16, seconds = 15, warmupSeconds = 3 } = {}, load) {
  const users = await parley.users(senders * 2, 'thr');
  const pairs = [];
  for (let i = 0; i < senders; i++)
    pairs.push({
      sender: users[2 * i],
      id: (await parley.direct(users[2 * i], users[2 * i + 1])).id,
      recipient: users[2 * i + 1],
    });
  let delivered = 0;
  const sockets = [];
  for (const pair of pairs)
    sockets.push(await parley.socket(pair.recipient, (frame) => frame.event === 'message.created' && (delivered += 1)));

  let persisted = 0;
  /** Every sender sends its next message when the last one was stored, until `until`. */
  const loop = (until, count) =>
    Promise.all(
      pairs.map(async (pair) => {
        for (let i = 0; performance.now() < until; i++) {
          await parley.send(pair.sender, pair.id, `t${i}`);
          if (count) persisted += 1;
        }
      }),
    );
  await loop(performance.now() + warmupSeconds * 1000, false); // not counted: JIT and pool warm-up
  const deliveredBefore = delivered;
  load?.begin();
  const started = performance.now();
  await loop(started + seconds * 1000, true);
  const elapsed = (performance.now() - started) / 1000;
  load?.end();
  const deliveredInTime = delivered - deliveredBefore;
  for (const socket of sockets) socket.close();
  return {
    scenario: 'throughput',
    senders,
    warmupSeconds,
    persistedPerSec: Math.round(persisted / elapsed),
    deliveredPerSec: Math.round(deliveredInTime / elapsed),
    messages: persisted,
  };
}
