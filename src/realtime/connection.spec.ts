import { EventEmitter } from 'node:events';
import type { WebSocket } from 'ws';
import { Connection } from './connection';

class FakeSocket extends EventEmitter {
  readonly calls: string[] = [];
  ping = () => this.calls.push('ping');
  terminate = () => this.calls.push('terminate');
  close = (code: number, reason: string) => this.calls.push(`close ${code} ${reason}`);
}

describe('Connection', () => {
  const open = (expiresAt = new Date(Date.now() + 60_000)) => {
    const socket = new FakeSocket();
    const sent: string[] = [];
    const connection = new Connection(socket as unknown as WebSocket, 'u', expiresAt, (_c, text) => sent.push(text));
    return { socket, sent, connection };
  };

  it('pings each heartbeat, and terminates a socket that did not answer the last ping', () => {
    const { socket, connection } = open();
    connection.start();
    connection.heartbeat();
    socket.emit('pong');
    connection.heartbeat();
    connection.heartbeat();
    expect(socket.calls).toEqual(['ping', 'ping', 'terminate']);
    connection.dispose();
  });

  it('answers the frame limit: rate_limited for a second of refusals, then silence, then close', () => {
    const { connection } = open();
    const verdicts = Array.from({ length: 12 }, () => connection.judgeFrame(false, 1));
    expect(verdicts).toEqual([
      'limited',
      'drop',
      'drop',
      'drop',
      'drop',
      'drop',
      'drop',
      'drop',
      'drop',
      'drop',
      'close',
      'close',
    ]);
    expect(connection.judgeFrame(true, 1)).toBe('ok');
    expect(connection.judgeFrame(false, 1)).toBe('limited'); // an allowed frame ends the run of strikes
  });

  it('at expiry sends token_expired and closes 4401, unless renewed first', () => {
    jest.useFakeTimers();
    try {
      const { socket, sent, connection } = open(new Date(Date.now() + 1_000));
      connection.start();
      connection.renew(new Date(Date.now() + 5_000));
      jest.advanceTimersByTime(2_000);
      expect(socket.calls).toEqual([]);
      expect(connection.expired).toBe(false);
      jest.advanceTimersByTime(3_001);
      expect(JSON.parse(sent[0])).toMatchObject({ event: 'error', data: { code: 'token_expired' } });
      expect(socket.calls).toEqual(['close 4401 token_expired']);
      connection.dispose();
    } finally {
      jest.useRealTimers();
    }
  });
});
