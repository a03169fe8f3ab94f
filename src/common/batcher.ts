/** What became of one item of a batch: its own value or its own error. */
export type ItemOutcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

interface Waiting<T, R> {
  item: T;
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: up to `maxInFlight` batches run at once; items that arrive while
 * all of them are busy wait and go together in the next batch (at most `maxBatch`).
 * Under light load an item goes alone and at once (no timer, no added latency);
 * under load N items cost one statement and one commit instead of N.
 */
export class Batcher<T, R> {
  private readonly waiting: Waiting<T, R>[] = [];
  private inFlight = 0;

  constructor(
    private readonly run: (items: T[]) => Promise<ItemOutcome<R>[]>,
    private readonly maxInFlight: number,
    private readonly maxBatch: number,
  ) {}

  submit(item: T): Promise<R> {
    return this.submitAll([item])[0];
  }

  /** Several items that should go in one batch when they can (they are queued before any is started). */
  submitAll(items: T[]): Promise<R>[] {
    const results = items.map(
      (item) => new Promise<R>((resolve, reject) => this.waiting.push({ item, resolve, reject })),
    );
    this.pump();
    return results;
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.waiting.length) {
      const batch = this.waiting.splice(0, this.maxBatch);
      this.inFlight += 1;
      this.run(batch.map((w) => w.item))
        .then(
          (outcomes) =>
            batch.forEach((w, i) => {
              const outcome = outcomes[i];
              if (outcome?.ok) w.resolve(outcome.value);
              else w.reject(outcome ? outcome.error : new Error('batch returned no outcome for an item'));
            }),
          (error: unknown) => batch.forEach((w) => w.reject(error)),
        )
        .finally(() => {
          this.inFlight -= 1;
          this.pump();
        });
    }
  }
}
