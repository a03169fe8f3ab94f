import { GoneException, Injectable } from '@nestjs/common';
import { isDatabaseUnavailable } from '../database/database-errors';
import { SyncService } from '../sync/sync.service';
import { Snapshot } from '../sync/snapshot';
import { LEDGER_KEEP_MS } from './change-ledger';
import type { Connection } from './connection';
import { ConnectionRegistry } from './connection-registry.service';
import { wsError } from './ws-error.filter';
import { changeFrame, ERROR_CODES, frame } from './ws-protocol';

/**
 * Resume on the socket (docs/protocol.md §9.2): `/ws?since=<token>` or a `sync {since}`
 * frame replays every change since the token as the usual events, then `synced {token}`,
 * then the live events, with no gap and no duplicate at the switch.
 *
 * From the moment the resume starts (for `?since=`, from the upgrade), live frames to
 * the socket are held. The replay reads up to a snapshot taken after that moment, so a
 * change it does not see committed after the hold began, and its live frame is among
 * those held. After `synced`, the held frames go out, less those whose transaction the
 * replay's snapshot sees (replayed, or in the token already), and so are such frames that
 * come later still (Connection.covered). Stored changes pushed live before a `sync` frame
 * (Connection.pushed) are left out of its replay.
 */
@Injectable()
export class ResumeService {
  constructor(
    private readonly sync: SyncService,
    private readonly registry: ConnectionRegistry,
  ) {}

  /** Starts holding the socket's live frames: before the upgrade is admitted, for `?since=`. */
  hold(connection: Connection): void {
    connection.held ??= [];
  }

  async resume(connection: Connection, since: string): Promise<void> {
    if (connection.resuming) throw wsError(ERROR_CODES.conflict, 'A sync is already running on this socket');
    connection.resuming = true;
    this.hold(connection);
    const pushed = connection.pushed;
    connection.pushed = undefined;
    let snapshot: Snapshot | undefined;
    try {
      const replayed = await this.sync.replay(connection.userId, since, async (changes) => {
        const frames = changes
          .filter((change) => !pushed?.has(`${change.conversationId}:${change.pos}`))
          .map((change) => changeFrame(change.event, change.data, change));
        // A page at a time: the next is read once this one has left for the network.
        await new Promise<void>((resolve) => {
          if (!frames.length) return resolve();
          frames.forEach((text, i) =>
            this.registry.send(connection, text, i === frames.length - 1 ? resolve : undefined),
          );
        });
      });
      snapshot = new Snapshot(replayed.snapshot);
      // Late frames of what the replay covered are dropped for as long as one can come late.
      connection.covered = { snapshot, until: Date.now() + LEDGER_KEEP_MS };
      this.registry.send(connection, frame('synced', { token: replayed.token }));
    } catch (error) {
      if (error instanceof GoneException) {
        throw wsError(ERROR_CODES.resyncRequired, (error.getResponse() as { message: string }).message);
      }
      if (isDatabaseUnavailable(error))
        throw wsError(ERROR_CODES.unavailable, 'The database is unavailable, retry later');
      throw error;
    } finally {
      // What came live meanwhile, in order; after a failed replay, all of it.
      const held = connection.held ?? [];
      connection.held = undefined;
      connection.resuming = false;
      for (const { text, xid } of held) {
        if (snapshot && xid && snapshot.sees(xid)) continue;
        this.registry.send(connection, text);
      }
    }
  }
}
