import WebSocket from 'ws';

/**
 * GET /api/v1/sync and resume on the socket, as issue 13 states their targets:
 * - catch-up: `changes` missed changes spread over `conversations` groups, read page by page
 *   (limit 1000) by a member that was away; the figure is the time of all pages together;
 * - bootstrap: a user with `bootstrapConversations` conversations; the figure is the median of 5;
 * - resume: `/ws?since=` with `resumeChanges` missed changes; the figure is from the upgrade
 *   request to the `synced` frame, the median of 5.
 * Times are measured by the client on loopback: they bound the server's time from above.
 */
export async function sync(
  parley,
  { changes = 10_000, conversations = 100, bootstrapConversations = 1000, resumeChanges = 1000 } = {},
  load,
) {
  const [reader, ...writers] = await parley.users(11, 'syn');
  const groups = [];
  for (let i = 0; i < conversations; i++) groups.push((await parley.group(writers[i % writers.length], [reader])).id);
  let { token } = await parley.request('GET', '/sync', undefined, reader.token);

  // Away: the writers send, each to its own groups, `changes` messages in all.
  const perWriter = Math.ceil(changes / writers.length);
  await Promise.all(
    writers.map(async (writer, w) => {
      const own = groups.filter((_, i) => i % writers.length === w);
      for (let n = 0; n < perWriter && w * perWriter + n < changes; n++) {
        await parley.send(writer, own[n % own.length], `away ${n}`);
      }
    }),
  );

  load?.begin();
  const started = performance.now();
  let received = 0;
  let pages = 0;
  for (let more = true; more; pages++) {
    const page = await parley.request(
      'GET',
      `/sync?since=${encodeURIComponent(token)}&limit=1000`,
      undefined,
      reader.token,
    );
    received += page.changes.length;
    token = page.token;
    more = page.hasMore;
  }
  const catchUpMs = performance.now() - started;
  load?.end();

  // Resume on the socket: the reader away again, `resumeChanges` missed, 5 times.
  const resumeTimes = [];
  let replayed = 0;
  for (let round = 0; round < 5; round++) {
    await Promise.all(
      writers.map(async (writer, w) => {
        const own = groups.filter((_, i) => i % writers.length === w);
        for (let n = w; n < resumeChanges; n += writers.length)
          await parley.send(writer, own[n % own.length], `again ${n}`);
      }),
    );
    const at = performance.now();
    const { frames, synced } = await resume(parley, reader, token);
    resumeTimes.push(performance.now() - at);
    replayed += frames;
    token = synced;
  }
  resumeTimes.sort((a, b) => a - b);

  // Bootstrap: one user in many conversations (groups of its own: no registrations needed).
  const [busy] = await parley.users(1, 'boot');
  for (let i = 0; i < bootstrapConversations; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, bootstrapConversations - i) }, () => parley.group(busy, [])));
  }
  const bootstrapTimes = [];
  for (let i = 0; i < 5; i++) {
    const at = performance.now();
    const boot = await parley.request('GET', '/sync', undefined, busy.token);
    bootstrapTimes.push(performance.now() - at);
    if (boot.conversations.length !== bootstrapConversations) {
      throw new Error(`bootstrap listed ${boot.conversations.length} of ${bootstrapConversations} conversations`);
    }
  }
  bootstrapTimes.sort((a, b) => a - b);
  return {
    scenario: 'sync',
    missedChanges: changes,
    conversations,
    received,
    lost: changes - received,
    pages,
    catchUpMs: Math.round(catchUpMs),
    bootstrapConversations,
    bootstrapMsMedian: Math.round(bootstrapTimes[2]),
    bootstrapMsMax: Math.round(bootstrapTimes[4]),
    resumeChanges,
    resumeReplayed: replayed / 5,
    resumeMsMedian: Math.round(resumeTimes[2]),
    resumeMsMax: Math.round(resumeTimes[4]),
  };
}

/** Connects with `?since=`, counts the replayed frames until `synced`, closes. */
function resume(parley, user, since) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${parley.wsBase}/ws?token=${user.token}&since=${encodeURIComponent(since)}`);
    let frames = 0;
    ws.once('error', reject);
    ws.on('message', (raw) => {
      const frame = JSON.parse(raw.toString());
      if (frame.event === 'synced') {
        ws.close();
        resolve({ frames, synced: frame.data.token });
      } else if (frame.event === 'error') reject(new Error(JSON.stringify(frame.data)));
      else if (frame.pos !== undefined) frames += 1;
    });
  });
}
