/**
 * Which user ids exist, as far as this instance has seen: every authenticated
 * request asks, and the answer must not cost a query. Ids are never reused
 * (gen_random_uuid), so an id seen missing stays missing; an id seen present is
 * forgotten when the user is deleted (UserDeletionsListener), or all at once
 * when deletions may have been missed. Both sets are bounded; the oldest entry
 * goes first.
 */
export class KnownUsers {
  private readonly present = new Set<string>();
  private readonly missing = new Set<string>();

  constructor(
    private readonly maxPresent = 100_000,
    private readonly maxMissing = 10_000,
  ) {}

  /** True or false when known; undefined when the database must be asked. */
  lookup(id: string): boolean | undefined {
    if (this.present.has(id)) return true;
    if (this.missing.has(id)) return false;
    return undefined;
  }

  markPresent(id: string): void {
    if (this.missing.has(id)) return; // deleted since: a late answer must not bring it back
    add(this.present, id, this.maxPresent);
  }

  markMissing(id: string): void {
    this.present.delete(id);
    add(this.missing, id, this.maxMissing);
  }

  /** Deletions may have been missed (the listener was disconnected): ask again for every id. */
  forgetPresent(): void {
    this.present.clear();
  }

  get size(): { present: number; missing: number } {
    return { present: this.present.size, missing: this.missing.size };
  }
}

function add(set: Set<string>, id: string, max: number): void {
  if (set.has(id)) return;
  if (set.size >= max) set.delete(set.values().next().value!);
  set.add(id);
}
