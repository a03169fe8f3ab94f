/** Closed loop: `senders` users each send their next message when the last one was stored. */
export async function throughput(parley, { senders = 16, seconds = 15 } = {}) {
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
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    pairs.map(async (pair) => {
      for (let i = 0; performance.now() < deadline; i++) {
        await parley.send(pair.sender, pair.id, `t${i}`);
        persisted += 1;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const deliveredInTime = delivered;
  for (const socket of sockets) socket.close();
  return {
    scenario: 'throughput',
    senders,
    persistedPerSec: Math.round(persisted / elapsed),
    deliveredPerSec: Math.round(deliveredInTime / elapsed),
    messages: persisted,
  };
}
