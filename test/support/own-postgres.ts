import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/common/free-port';

/**
 * A real PostgreSQL of the test's own, on a fixed loopback port, so that it can be
 * stopped (fast shutdown), killed (SIGKILL) and started again at the same address
 * while an app uses it. See own-postgres-child.mjs.
 */
export class OwnPostgres {
  private child?: ChildProcess;
  private nextId = 0;
  private readonly dataDir = mkdtempSync(join(tmpdir(), 'parley-test-own-pg-'));

  private constructor(readonly port: number) {
    chmodSync(this.dataDir, 0o755); // the cluster runs as the postgres user when we are root
  }

  static async start(): Promise<OwnPostgres> {
    const pg = new OwnPostgres(await freePort());
    pg.child = fork(join(__dirname, 'own-postgres-child.mjs'), [pg.dataDir, String(pg.port)], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    await pg.start();
    return pg;
  }

  get url(): string {
    return `postgres://postgres:postgres@127.0.0.1:${this.port}/postgres`;
  }

  start = () => this.command('start');
  stop = () => this.command('stop');
  kill = () => this.command('kill');

  /** Stops the cluster and removes its folder. */
  async remove(): Promise<void> {
    if (this.child?.connected) {
      const exited = once(this.child, 'exit');
      this.child.disconnect();
      await exited;
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  private command(command: string): Promise<void> {
    const id = (this.nextId += 1);
    return new Promise((resolve, reject) => {
      const onMessage = (reply: { id: number; ok: boolean; error?: string }) => {
        if (reply.id !== id) return;
        this.child!.off('message', onMessage);
        if (reply.ok) resolve();
        else reject(new Error(`own PostgreSQL: ${command} failed: ${reply.error}`));
      };
      this.child!.on('message', onMessage);
      this.child!.send({ id, command });
    });
  }
}
