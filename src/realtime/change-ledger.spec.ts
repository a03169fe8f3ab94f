import { ChangeLedger, LEDGER_KEEP_MS } from './change-ledger';

describe('ChangeLedger: each stored change pushed once per instance', () => {
  it('takes a change once, whichever path comes first', () => {
    const ledger = new ChangeLedger();
    expect(ledger.take('c', 1)).toBe(true);
    expect(ledger.take('c', 1)).toBe(false);
    expect(ledger.take('c', 2)).toBe(true);
    expect(ledger.take('d', 1)).toBe(true);
  });

  it('gives a released change back to the log follower', () => {
    const ledger = new ChangeLedger();
    ledger.take('c', 1);
    ledger.release('c', 1);
    expect(ledger.take('c', 1)).toBe(true);
  });

  it('forgets entries after LEDGER_KEEP_MS', () => {
    const ledger = new ChangeLedger();
    ledger.take('c', 1, 0);
    ledger.take('c', 2, LEDGER_KEEP_MS);
    ledger.sweep(LEDGER_KEEP_MS + 1);
    expect(ledger.size).toBe(1);
    expect(ledger.take('c', 2)).toBe(false);
  });

  it('forgets what the bus took once the follower settles it, and keeps what the follower repaired', () => {
    const ledger = new ChangeLedger();
    ledger.take('c', 1);
    expect(ledger.settle('c', 1)).toBe(false);
    expect(ledger.settle('c', 2)).toBe(true);
    expect(ledger.size).toBe(1);
    expect(ledger.take('c', 2)).toBe(false);
  });
});
