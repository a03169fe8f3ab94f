/**
 * A PostgreSQL snapshot (`xmin:xmax:xip,...`, as pg_current_snapshot() prints it),
 * parsed once, answering as pg_visible_in_snapshot does without asking the database.
 * For xids of committed transactions only, which is what change marks are.
 */
export class Snapshot {
  private readonly xmin: bigint;
  private readonly xmax: bigint;
  private readonly inProgress: Set<string>;

  constructor(text: string) {
    const [xmin, xmax, inProgress] = text.split(':');
    this.xmin = BigInt(xmin);
    this.xmax = BigInt(xmax);
    this.inProgress = new Set(inProgress ? inProgress.split(',') : []);
  }

  sees(xid: string): boolean {
    const id = BigInt(xid);
    if (id < this.xmin) return true;
    if (id >= this.xmax) return false;
    return !this.inProgress.has(xid);
  }
}
