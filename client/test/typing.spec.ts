import fc from 'fast-check';
import {
  LocalTypingIndicator,
  RemoteTypingIndicators,
  TYPING_EXPIRY_MS,
  TYPING_IDLE_MS,
  TYPING_REFRESH_MS,
} from '../src/typing.js';
import { FakeClock } from './support/unit-clock.js';

/** The server's typing indicator lives this long without a refresh (docs/protocol.md §8.3). */
const SERVER_TYPING_TTL_MS = 5_000;

interface Sent {
  at: number;
  conversationId: string;
  isTyping: boolean;
}

function local(connected: (at: number) => boolean = () => true) {
  const clock = new FakeClock(1_000_000);
  const sent: Sent[] = [];
  const indicator = new LocalTypingIndicator(clock, (conversationId, isTyping) => {
    if (!connected(clock.now())) return false;
    sent.push({ at: clock.now() - 1_000_000, conversationId, isTyping });
    return true;
  });
  /** What was sent, as `true@ms` / `false@ms` since the start. */
  const log = (conversationId = 'c1') =>
    sent.filter((s) => s.conversationId === conversationId).map(({ at, isTyping }) => `${isTyping}@${at}`);
  return { clock, sent, indicator, log };
}

describe('LocalTypingIndicator', () => {
  it('uses the protocol constants', () => {
    expect([TYPING_REFRESH_MS, TYPING_IDLE_MS, TYPING_EXPIRY_MS]).toEqual([3_000, 2_000, 6_000]);
  });

  it('sends true on the first keystroke, at once', () => {
    const { indicator, log } = local();
    indicator.keystroke('c1');
    expect(log()).toEqual(['true@0']);
  });

  it('sends true again at most once per 3 s while the typing goes on', () => {
    const { clock, indicator, log } = local();
    for (let t = 0; t <= 10_000; t += 500) {
      indicator.keystroke('c1');
      clock.advance(500);
    }
    expect(log().filter((s) => s.startsWith('true'))).toEqual(['true@0', 'true@3000', 'true@6000', 'true@9000']);

    const { clock: clock2, indicator: indicator2, log: log2 } = local();
    for (let i = 0; i < 12; i++) {
      indicator2.keystroke('c1');
      clock2.advance(700);
    }
    // Not on a grid: the first keystroke at least 3 s after the last true.
    expect(log2().filter((s) => s.startsWith('true'))).toEqual(['true@0', 'true@3500', 'true@7000']);
  });

  it('sends false 2 s after the last keystroke, once', () => {
    const { clock, indicator, log } = local();
    indicator.keystroke('c1');
    clock.advance(1_500);
    indicator.keystroke('c1');
    clock.advance(1_999);
    expect(log()).toEqual(['true@0']);
    clock.advance(1);
    expect(log()).toEqual(['true@0', 'false@3500']);
    clock.advance(60_000);
    expect(log()).toEqual(['true@0', 'false@3500']);
    expect(clock.pending).toBe(0);
  });

  it('sends false at once on stop, and not again when the idle time would have passed', () => {
    const { clock, indicator, log } = local();
    indicator.keystroke('c1');
    clock.advance(800);
    indicator.stop('c1');
    expect(log()).toEqual(['true@0', 'false@800']);
    indicator.stop('c1');
    clock.advance(10_000);
    expect(log()).toEqual(['true@0', 'false@800']);
  });

  it('starts over after a false: the next keystroke sends true at once', () => {
    const { clock, indicator, log } = local();
    indicator.keystroke('c1');
    clock.advance(2_000);
    indicator.keystroke('c1');
    clock.advance(500);
    indicator.stop('c1');
    indicator.keystroke('c1');
    expect(log()).toEqual(['true@0', 'false@2000', 'true@2000', 'false@2500', 'true@2500']);
  });

  it('sends nothing for stop without typing', () => {
    const { clock, indicator, sent } = local();
    indicator.stop('c1');
    indicator.stopAll();
    clock.advance(10_000);
    expect(sent).toEqual([]);
  });

  it('sends no false when the first true could not be sent', () => {
    const { clock, indicator, sent } = local(() => false);
    indicator.keystroke('c1');
    clock.advance(500);
    indicator.keystroke('c1');
    clock.advance(5_000);
    indicator.keystroke('c1');
    indicator.stop('c1');
    indicator.keystroke('c2');
    indicator.stopAll();
    clock.advance(5_000);
    expect(sent).toEqual([]);
    expect(clock.pending).toBe(0);
  });

  it('sends true on the first keystroke after the socket is back, then false as usual', () => {
    const { clock, indicator, log } = local((at) => at >= 1_001_000);
    indicator.keystroke('c1'); // offline: nothing sent
    clock.advance(1_200);
    indicator.keystroke('c1');
    expect(log()).toEqual(['true@1200']);
    clock.advance(2_000);
    expect(log()).toEqual(['true@1200', 'false@3200']);
  });

  it('keeps conversations apart, and stopAll stops each that was typing', () => {
    const { clock, indicator, sent } = local();
    indicator.keystroke('c1');
    clock.advance(1_000);
    indicator.keystroke('c2');
    clock.advance(500);
    indicator.stop('c1');
    indicator.keystroke('c3');
    clock.advance(100);
    indicator.stopAll();
    clock.advance(10_000);
    expect(sent.map(({ at, conversationId, isTyping }) => `${conversationId} ${isTyping}@${at}`)).toEqual([
      'c1 true@0',
      'c2 true@1000',
      'c1 false@1500',
      'c3 true@1500',
      'c2 false@1600',
      'c3 false@1600',
    ]);
  });

  it('for any keystroke timing: false within 2 s of the last key, true never twice within 3 s of one burst', () => {
    // Gaps between keystrokes, some of them long enough (≥ 2 s) to end a burst.
    const gap = fc.oneof(fc.integer({ min: 0, max: 1_999 }), fc.integer({ min: 0, max: 8_000 }));
    fc.assert(
      fc.property(fc.array(gap, { minLength: 1, maxLength: 60 }), (gaps) => {
        const { clock, indicator, sent } = local();
        const keys: number[] = [];
        for (const g of gaps) {
          clock.advance(g);
          keys.push(clock.now() - 1_000_000);
          indicator.keystroke('c1');
        }
        const last = keys[keys.length - 1];
        clock.advance(30_000);

        // Every false ends a run of trues, and the last one comes within 2 s of the last key.
        sent.forEach(({ isTyping }, i) => isTyping || expect(sent[i - 1]?.isTyping).toBe(true));
        const end = sent[sent.length - 1];
        expect(end.isTyping).toBe(false);
        expect(end.at).toBeGreaterThanOrEqual(last);
        expect(end.at - last).toBeLessThanOrEqual(TYPING_IDLE_MS);

        // A burst is the keys with gaps under 2 s between them: it opens with a true at its first
        // key, refreshes every ≥ 3 s but < 5 s (the server's indicator never lapses), and closes
        // with a false 2 s after its last key.
        const bursts: number[][] = [];
        keys.forEach((at, i) => {
          if (i === 0 || at - keys[i - 1] >= TYPING_IDLE_MS) bursts.push([at]);
          else bursts[bursts.length - 1].push(at);
        });
        let i = 0;
        for (const burst of bursts) {
          const trues: number[] = [];
          while (sent[i]?.isTyping) trues.push(sent[i++].at);
          expect(trues[0]).toBe(burst[0]);
          for (let j = 1; j < trues.length; j++) {
            expect(trues[j] - trues[j - 1]).toBeGreaterThanOrEqual(TYPING_REFRESH_MS);
            expect(trues[j] - trues[j - 1]).toBeLessThan(SERVER_TYPING_TTL_MS);
            expect(burst).toContain(trues[j]); // only on a keystroke
          }
          const lastKey = burst[burst.length - 1];
          expect(lastKey - trues[trues.length - 1]).toBeLessThan(TYPING_REFRESH_MS + TYPING_IDLE_MS);
          expect(sent[i++]).toMatchObject({ isTyping: false, at: lastKey + TYPING_IDLE_MS });
        }
        expect(i).toBe(sent.length);
      }),
      { numRuns: 300 },
    );
  });
});

describe('RemoteTypingIndicators', () => {
  function remote() {
    const clock = new FakeClock(5_000_000);
    const changes: string[] = [];
    const indicators = new RemoteTypingIndicators(clock, (conversationId) =>
      changes.push(`${conversationId}: ${indicators.users(conversationId).join(',')}`),
    );
    return { clock, changes, indicators };
  }

  it('shows a typist at once and fires changed once', () => {
    const { indicators, changes } = remote();
    expect(indicators.users('c1')).toEqual([]);
    indicators.apply('c1', 'bob', true);
    expect(indicators.users('c1')).toEqual(['bob']);
    expect(changes).toEqual(['c1: bob']);
  });

  it('expires an indicator 6 s after its last true when no false comes', () => {
    const { clock, indicators, changes } = remote();
    indicators.apply('c1', 'bob', true);
    clock.advance(4_000);
    indicators.apply('c1', 'bob', true); // a refresh: not a change
    expect(changes).toEqual(['c1: bob']);

    clock.advance(5_999);
    expect(indicators.users('c1')).toEqual(['bob']);
    clock.advance(1);
    expect(indicators.users('c1')).toEqual([]);
    expect(changes).toEqual(['c1: bob', 'c1: ']);
    expect(clock.pending).toBe(0);
  });

  it('expires each typist at their own time', () => {
    const { clock, indicators, changes } = remote();
    indicators.apply('c1', 'bob', true);
    clock.advance(1_000);
    indicators.apply('c1', 'carol', true);
    indicators.apply('c2', 'dave', true);
    clock.advance(2_500);
    indicators.apply('c1', 'bob', true);

    clock.advance(3_499); // 6 s after carol's and dave's true, less 1 ms
    expect([indicators.users('c1'), indicators.users('c2')]).toEqual([['bob', 'carol'], ['dave']]);
    clock.advance(1);
    expect([indicators.users('c1'), indicators.users('c2')]).toEqual([['bob'], []]);
    clock.advance(2_500);
    expect(indicators.users('c1')).toEqual([]);
    expect(changes).toEqual(['c1: bob', 'c1: bob,carol', 'c2: dave', 'c1: bob', 'c2: ', 'c1: ']);
  });

  it('clears an indicator at once on false and on end, and ignores them for someone not typing', () => {
    const { clock, indicators, changes } = remote();
    indicators.apply('c1', 'bob', true);
    indicators.apply('c1', 'carol', true);
    indicators.apply('c1', 'bob', false);
    expect(indicators.users('c1')).toEqual(['carol']);
    indicators.end('c1', 'carol'); // carol's message arrived
    expect(indicators.users('c1')).toEqual([]);

    indicators.apply('c1', 'bob', false);
    indicators.end('c1', 'carol');
    indicators.end('c2', 'dave');
    clock.advance(10_000);
    expect(changes).toEqual(['c1: bob', 'c1: bob,carol', 'c1: carol', 'c1: ']);
  });

  it('shows a typist again after their indicator expired', () => {
    const { clock, indicators, changes } = remote();
    indicators.apply('c1', 'bob', true);
    clock.advance(6_000);
    indicators.apply('c1', 'bob', true);
    expect(indicators.users('c1')).toEqual(['bob']);
    expect(changes).toEqual(['c1: bob', 'c1: ', 'c1: bob']);
  });

  it('clear() ends every indicator, with one changed per conversation', () => {
    const { clock, indicators, changes } = remote();
    indicators.apply('c1', 'bob', true);
    indicators.apply('c1', 'carol', true);
    indicators.apply('c2', 'dave', true);
    changes.length = 0;

    indicators.clear();
    expect([indicators.users('c1'), indicators.users('c2')]).toEqual([[], []]);
    expect(changes.sort()).toEqual(['c1: ', 'c2: ']);
    clock.advance(10_000);
    expect(changes).toHaveLength(2);
    expect(clock.pending).toBe(0);

    indicators.clear(); // nothing left: nothing changes
    expect(changes).toHaveLength(2);
  });

  it('for any sequence of pushes: shows exactly who sent true less than 6 s ago, changed once per change', () => {
    const users = ['bob', 'carol', 'dave'];
    const step = fc.oneof(
      fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 7_000 }) }),
      fc.record({
        kind: fc.constantFrom('true' as const, 'false' as const, 'end' as const),
        conversationId: fc.constantFrom('c1', 'c2'),
        userId: fc.constantFrom(...users),
      }),
      fc.record({ kind: fc.constant('clear' as const) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const clock = new FakeClock(0);
        const shown = new Map<string, string>([
          ['c1', ''],
          ['c2', ''],
        ]);
        const indicators = new RemoteTypingIndicators(clock, (conversationId) => {
          const now = indicators.users(conversationId).sort().join(',');
          expect(now).not.toBe(shown.get(conversationId)); // a changed without a change
          shown.set(conversationId, now);
        });
        const lastTrue = new Map<string, number>(); // `${conversation} ${user}` → when; absent: not typing
        for (const s of steps) {
          if (s.kind === 'advance') clock.advance(s.ms);
          else if (s.kind === 'clear') {
            indicators.clear();
            lastTrue.clear();
          } else if (s.kind === 'true') {
            indicators.apply(s.conversationId, s.userId, true);
            lastTrue.set(`${s.conversationId} ${s.userId}`, clock.now());
          } else {
            if (s.kind === 'false') indicators.apply(s.conversationId, s.userId, false);
            else indicators.end(s.conversationId, s.userId);
            lastTrue.delete(`${s.conversationId} ${s.userId}`);
          }
          for (const conversationId of ['c1', 'c2']) {
            const expected = users.filter((u) => {
              const at = lastTrue.get(`${conversationId} ${u}`);
              return at !== undefined && clock.now() - at < TYPING_EXPIRY_MS;
            });
            expect(indicators.users(conversationId).sort()).toEqual(expected);
            expect(shown.get(conversationId)).toBe(expected.join(',')); // no change went unannounced
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
