import { summary } from '../lib/stats.mjs';

/**
 * 200 users in 100 direct pairs, one socket each; an open loop of `rate` msgs/s
 * for `seconds` over REST or the socket's message.send. Every message is expected
 * on both sockets of its pair (the sender's devices get it too): latency from
 * send to each arrival, and lost / duplicated / out-of-order deliveries.
 * With `peer` (a second instance of a cluster), the second user of every pair
 * sends and holds its socket there: every message crosses instances to reach its
 * recipient, and those deliveries are also summarised on their own.
 * A warm-up of `warmupSeconds` at the same rate comes first and is not counted: the
 * figures are those of a running server, not of its first JIT and pool connections.
 */
export async function latency(
  parley,
  { via = 'rest', rate = 1000, seconds = 30, pairs = 100, peer, warmupSeconds = 3 } = {},
  load,
) {
  const users = await parley.users(pairs * 2, `${peer ? 'cl' : 'lat'}${via[0]}`);
  // The instance each user talks to: in a cluster run, the second of each pair is on the peer.
  const instanceOf = (index) => (peer && index % 2 ? peer : parley);
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
  const senderInstance = new Map(); // clientMessageId -> instance index of the sender
  const samples = [];
  const crossSamples = [];
  let warmArrivals = 0;
  let duplicated = 0;
  let outOfOrder = 0;
  const sockets = [];
  for (const [index, user] of users.entries()) {
    sockets.push(
      await instanceOf(index).socket(user, (frame, at) => {
        if (frame.event !== 'message.created') return;
        const { clientMessageId, conversationId, seq } = frame.data;
        const orderKey = `${index}|${conversationId}`;
        if ((lastSeq.get(orderKey) ?? 0) >= seq) outOfOrder += 1;
        lastSeq.set(orderKey, seq);
        if (clientMessageId.startsWith('warm-')) return void (warmArrivals += 1);
        const key = `${index}|${clientMessageId}`;
        const count = (seen.get(key) ?? 0) + 1;
        seen.set(key, count);
        if (count > 1) duplicated += 1;
        else if (sentAt.has(clientMessageId)) {
          samples.push(at - sentAt.get(clientMessageId)); (globalThis.dbg ??= []).push(['d', clientMessageId, sentAt.get(clientMessageId), at]);
          if (peer && senderInstance.get(clientMessageId) !== index % 2)
            crossSamples.push(at - sentAt.get(clientMessageId));
        }
      }),
    );
  }
  const socketOf = new Map(users.map((u, i) => [u.id, sockets[i]]));

  let failed = 0;
  const failures = new Map(); // reason -> count
  /** Sends `total` messages at `rate` (open loop), ids `${prefix}-${n}`; resolves when all are sent. */
  const drive = (prefix, total) =>
    new Promise((resolve) => {
      let sent = 0;
      const started = performance.now();
      const tick = setInterval(() => {
        // Open loop: catch up to where the schedule says we should be.
        const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
        for (; sent < due; sent++) {
          const conversation = conversations[sent % pairs];
          const fromB = sent % 2 === 0;
          const sender = fromB ? conversation.b : conversation.a;
          const clientMessageId = `${prefix}-${sent}`;
          if (prefix !== 'warm') {
            senderInstance.set(clientMessageId, fromB ? 1 : 0);
            sentAt.set(clientMessageId, performance.now());
          }
          if (via === 'ws') {
            socketOf.get(sender.id).send(
              JSON.stringify({
                event: 'message.send',
                data: { conversationId: conversation.id, content: `m${sent}`, clientMessageId },
              }),
            );
          } else {
            instanceOf(fromB ? 1 : 0)
              .send(sender, conversation.id, `m${sent}`, clientMessageId).then((r) => { (globalThis.dbg ??= []).push(['r', clientMessageId, sentAt.get(clientMessageId), performance.now()]); return r; })
              .catch((error) => {
                if (prefix === 'warm') return;
                failed += 1;
                const reason = String(error.cause?.code ?? error.message).slice(0, 80);
                failures.set(reason, (failures.get(reason) ?? 0) + 1);
              });
          }
        }
        if (sent >= total) {
          clearInterval(tick);
          resolve((performance.now() - started) / 1000);
        }
      }, 1);
    });
  /** Waits until `arrived()` reaches `expected`, or nothing more came for 2 s. */
  const drain = async (arrived, expected) => {
    let progress = { count: -1, at: performance.now() };
    while (arrived() < expected && performance.now() - progress.at < 2_000) {
      if (arrived() !== progress.count) progress = { count: arrived(), at: performance.now() };
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  const warmup = Math.round(rate * warmupSeconds);
  await drive('warm', warmup);
  await drain(() => warmArrivals, warmup * 2);
  outOfOrder = 0;

  const total = rate * seconds;
  load?.begin();
  const elapsed = await drive(via, total);
  await drain(() => samples.length + duplicated, total * 2);
  load?.end(); (await import('node:fs')).writeFileSync('/tmp/dbg.json', JSON.stringify(globalThis.dbg));
  for (const socket of sockets) socket.close();
  return {
    scenario: `${peer ? 'cluster' : 'latency'}-${via}`,
    ...(peer ? { instances: 2 } : {}),
    offeredRate: rate,
    achievedRate: Math.round(total / elapsed),
    warmupSeconds,
    messages: total,
    expectedDeliveries: total * 2,
    latencyMs: summary(samples),
    ...(peer ? { crossInstanceLatencyMs: summary(crossSamples) } : {}),
    lost: total * 2 - samples.length,
    duplicated,
    outOfOrder,
    failedSends: failed,
    ...(failed ? { failures: Object.fromEntries(failures) } : {}),
  };
}
