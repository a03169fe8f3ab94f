import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sdkReceiveInProcess } from '../lib/sdk-inproc.mjs';
import { round } from '../lib/stats.mjs';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * What a client pays per received message: `senders` users send `messages` in all over their
 * sockets at `rate` msgs/s, each in a direct conversation with one receiver (one socket's frames
 * are handled one after another, so one sender alone would queue past the server's 100 waiting
 * frames), whose client runs in a child process: first @parley/client
 * (its receive path: parse, store, unread count, delivery receipt, events), then a plain
 * `ws` client that only parses (the floor). CPU per message is each child's own CPU
 * (process.cpuUsage) from the first send to the last arrival, over the messages.
 * Then the SDK's receive path alone, in process (lib/sdk-inproc.mjs), and its browser bundle
 * size (client/dist/browser/size.json).
 */
export async function sdkReceive(parley, { messages = 20_000, rate = 1000, senders = 20 } = {}, load) {
  const [receiver, ...users] = await parley.users(senders + 1, 'sdkr');
  const password = 'bench-password';
  let refused = 0;
  const channels = [];
  for (const sender of users) {
    const { id } = await parley.direct(sender, receiver);
    const socket = await parley.socket(sender, (frame) => frame.event === 'error' && (refused += 1));
    channels.push({ id, socket });
  }
  const result = { scenario: 'sdk-receive', messages, rate, senders };
  load.begin();
  for (const kind of ['sdk', 'ws']) {
    // BENCH_RECEIVER_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' profiles the receivers.
    const execArgv = process.env.BENCH_RECEIVER_ARGS?.split(' ').filter(Boolean) ?? [];
    const child = fork(join(here, '../lib/receiver.mjs'), [kind], {
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const next = () =>
      new Promise((resolve, reject) => {
        child.once('message', resolve);
        child.once('exit', (code) => reject(new Error(`${kind} receiver exited (${code})`)));
      });
    child.send({ url: parley.baseUrl, username: receiver.username, password, token: receiver.token });
    await next();
    child.send({ start: true, expected: messages });
    await next();
    const done = next();
    const started = performance.now();
    for (let i = 0; i < messages; i++) {
      const due = started + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      const { id, socket } = channels[i % channels.length];
      socket.send(
        JSON.stringify({
          event: 'message.send',
          data: { conversationId: id, content: `m${i}`, clientMessageId: `${kind}-${i}-${started}` },
        }),
      );
    }
    const report = await done;
    await exited;
    result[kind] = {
      received: report.received,
      duplicates: report.duplicates,
      cpuMs: round(report.cpuMs),
      usPerMessage: round((report.cpuMs * 1000) / report.received),
    };
  }
  load.end();
  for (const { socket } of channels) socket.close();
  result.refusedSends = refused;
  // The SDK's own share: what it adds over parsing the frames; and its receive path with no network at all.
  result.sdkOverPlainUsPerMessage = round(result.sdk.usPerMessage - result.ws.usPerMessage);
  result.sdkInProcessUsPerMessage = await sdkReceiveInProcess(messages);
  try {
    const size = JSON.parse(readFileSync(join(here, '../../client/dist/browser/size.json'), 'utf8'));
    result.bundle = { minifiedBytes: size.minifiedBytes, gzipBytes: size.gzipBytes };
  } catch {
    result.bundle = 'client/dist/browser/size.json missing: npm run build:client';
  }
  return result;
}
