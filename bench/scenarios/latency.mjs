import { summary } from '../lib/stats.mjs';

/**
 * 200 users in 100 direct pairs, one socket each; an open loop of `rate` msgs/s
 * for `seconds` over REST or the socket's message.send. Every message is expected
 * on both sockets of its pair (the sender's devices get it too): latency from
 * send to each arrival, and lost / duplicated / out-of-order deliveries.
 */
export async function latency(parley, { via = 'rest', rate = 1000, seconds = 30, pairs = 100 } = {}) {
  const users = await parley.users(pairs * 2, `lat${via[0]}`);
  const conversations = [];
  for (let i = 0; i < pairs; i++)
    conversations.push({
      id: (await parley.direct(users[2 * i], users[2 * i + 1])).id,
      a: users[2 * i],
      b: users[2 * i + 1],
    });

  const sentAt = new Map(); // clientMessageId -> time
  const seen = new Map(); // `${socket}|${clientMessageId}` -> count
  const lastSeq = new Map(); // `${socket}|${conversation}` -> seq
  const samples = [];
  let duplicated = 0;
  let outOfOrder = 0;
  const sockets = [];
  for (const [index, user] of users.entries()) {
    sockets.push(
      await parley.socket(user, (frame, at) => {
        if (frame.event !== 'message.created') return;
        const { clientMessageId, conversationId, seq } = frame.data;
        const key = `${index}|${clientMessageId}`;
        const count = (seen.get(key) ?? 0) + 1;
        seen.set(key, count);
        if (count > 1) duplicated += 1;
        else if (sentAt.has(clientMessageId)) samples.push(at - sentAt.get(clientMessageId));
        const orderKey = `${index}|${conversationId}`;
        if ((lastSeq.get(orderKey) ?? 0) >= seq) outOfOrder += 1;
        lastSeq.set(orderKey, seq);
      }),
    );
  }
  const socketOf = new Map(users.map((u, i) => [u.id, sockets[i]]));

  let sent = 0;
  let failed = 0;
  const total = rate * seconds;
  const started = performance.now();
  await new Promise((resolve) => {
    const tick = setInterval(() => {
      // Open loop: catch up to where the schedule says we should be.
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
      for (; sent < due; sent++) {
        const conversation = conversations[sent % pairs];
        const sender = sent % 2 ? conversation.a : conversation.b;
        const clientMessageId = `${via}-${sent}`;
        sentAt.set(clientMessageId, performance.now());
        if (via === 'ws') {
          socketOf.get(sender.id).send(
            JSON.stringify({
              event: 'message.send',
              data: { conversationId: conversation.id, content: `m${sent}`, clientMessageId },
            }),
          );
        } else {
          parley.send(sender, conversation.id, `m${sent}`, clientMessageId).catch(() => (failed += 1));
        }
      }
      if (sent >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 1);
  });
  const elapsed = (performance.now() - started) / 1000;
  // Deliveries still in flight: wait until all arrived or nothing came for 2 s.
  let last = -1;
  while (samples.length + duplicated !== last && samples.length < total * 2) {
    last = samples.length + duplicated;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
  for (const socket of sockets) socket.close();
  return {
    scenario: `latency-${via}`,
    offeredRate: rate,
    achievedRate: Math.round(total / elapsed),
    messages: total,
    expectedDeliveries: total * 2,
    latencyMs: summary(samples),
    lost: total * 2 - samples.length,
    duplicated,
    outOfOrder,
    failedSends: failed,
  };
}
