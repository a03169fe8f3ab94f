import { EventEmitter } from 'node:events';
import { Counter } from 'prom-client';
import type { RedisService } from '../redis/redis.service';
import type { DomainEvent } from './domain-events';
import { OWN_EVENT_LOST_AFTER_MS, RedisEventBus } from './redis-event-bus';

/** Just enough of an ioredis client: status, publish, subscribe, and its events. */
class FakeRedis extends EventEmitter {
  status = 'ready';
  readonly published: { text: string; settle: { resolve: (n: number) => void; reject: (e: Error) => void } }[] = [];
  publish(_channel: string, text: string): Promise<number> {
    return new Promise((resolve, reject) => this.published.push({ text, settle: { resolve, reject } }));
  }
  subscribe(): Promise<number> {
    return Promise.resolve(1);
  }
}

/**
 * Same-instance delivery exactly once, whatever order the publishing and the
 * subscribed connections fail in (a real redis-server killed: test/cluster.e2e-spec.ts).
 */
describe('RedisEventBus: own events', () => {
  let pub: FakeRedis;
  let sub: FakeRedis;
  let bus: RedisEventBus;
  let publishFailures: Counter<'reason'>;
  let seen: number[];
  const flush = () => new Promise((resolve) => setImmediate(resolve));
  const send = (seq: number) =>
    bus.publish('message.deleted', {
      recipients: [],
      change: { xid: '1', pos: seq },
      conversationId: 'c',
      messageId: 'm',
      seq,
    });
  /** Redis hands a publish to the subscriber. */
  const echo = (index: number) => sub.emit('message', 'parley:events', pub.published[index].text);

  async function start(): Promise<void> {
    pub = new FakeRedis();
    sub = new FakeRedis();
    const redis = {
      prefix: 'parley:',
      connect: (name: string) => (name === 'events-pub' ? pub : sub),
    } as unknown as RedisService;
    publishFailures = new Counter({ name: 'failures', help: 'h', labelNames: ['reason'], registers: [] });
    bus = new RedisEventBus(redis, publishFailures);
    seen = [];
    bus.subscribe((event: DomainEvent) => seen.push((event.payload as { seq: number }).seq));
    sub.emit('ready');
    await bus.whenSubscribed();
  }
  beforeEach(() => start());
  afterEach(() => bus.onModuleDestroy());

  it('delivers an own event once, when it comes back from Redis', async () => {
    send(1);
    expect(seen).toEqual([]);
    echo(0);
    pub.published[0].settle.resolve(1);
    await flush();
    expect(seen).toEqual([1]);
    expect(bus.inFlight).toBe(0);
  });

  it('subscription drops first, then the publish fails: delivered once, here', async () => {
    send(1);
    send(2);
    sub.emit('close');
    expect(seen).toEqual([1, 2]);
    pub.published.forEach((p) => p.settle.reject(new Error('Connection is closed.')));
    await flush();
    expect(seen).toEqual([1, 2]);
    expect((await publishFailures.get()).values).toEqual([{ labels: { reason: 'error' }, value: 2 }]);
  });

  it('the publish fails first, then the subscription drops: delivered once, here', async () => {
    send(1);
    pub.published[0].settle.reject(new Error('Connection is closed.'));
    await flush();
    sub.emit('close');
    expect(seen).toEqual([1]);
  });

  it('published while the subscription is down: delivered here at once, and a copy that comes back is dropped', async () => {
    sub.emit('reconnecting');
    send(1);
    expect(seen).toEqual([1]);
    sub.emit('ready'); // resubscribed before Redis handled our PUBLISH
    await bus.whenSubscribed();
    echo(0);
    pub.published[0].settle.resolve(1);
    await flush();
    expect(seen).toEqual([1]);
  });

  it('a publish that reached no subscriber is delivered here', async () => {
    send(1);
    pub.published[0].settle.resolve(0);
    await flush();
    expect(seen).toEqual([1]);
  });

  it('a stalled Redis: delivered here after OWN_EVENT_LOST_AFTER_MS, in order, and the late copies dropped', async () => {
    jest.useFakeTimers();
    try {
      bus.onModuleDestroy();
      await start(); // its sweeper on the fake clock
      send(1);
      send(2);
      jest.advanceTimersByTime(OWN_EVENT_LOST_AFTER_MS + 1_000);
      expect(seen).toEqual([1, 2]);
      echo(0);
      echo(1);
      expect(seen).toEqual([1, 2]);
    } finally {
      jest.useRealTimers();
    }
  });

  it("delivers other instances' events as they come", () => {
    sub.emit(
      'message',
      'parley:events',
      JSON.stringify({ origin: 'another', n: 1, name: 'message.deleted', payload: { seq: 7 } }),
    );
    expect(seen).toEqual([7]);
  });
});
