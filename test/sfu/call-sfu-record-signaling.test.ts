/**
 * The `record` frame over real WebSockets (the call page's Record button sends it): refused when the
 * server has no recording directory or the room is in mesh mode; in SFU mode it starts and stops the
 * backend's recording in a directory of its own under --record-dir, and everyone in the room is told.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { SfuClientMessage } from '../../src/server/signaling/protocol.js';
import type { SfuBackend, SfuOutput } from '../../src/server/signaling/sfu-backend.js';
import { type Msg, startTestServer, TestClient } from '../serve/helpers.js';

/** A backend that only records what it is asked to record. */
class RecordingSfu implements SfuBackend {
  readonly started: { room: string; dir: string }[] = [];
  readonly stopped: string[] = [];
  readonly rooms = new Set<string>();
  attach(_out: SfuOutput): void {}
  openRoom(room: string): void {
    this.rooms.add(room);
  }
  closeRoom(room: string): void {
    this.rooms.delete(room);
  }
  addPeer(): void {}
  removePeer(): void {}
  handle(_room: string, _peer: string, _msg: SfuClientMessage): void {}
  mute(): void {}
  close(): void {}
  startRecording(room: string, dir: string): boolean {
    if (!this.rooms.has(room)) return false;
    this.started.push({ room, dir });
    return true;
  }
  async stopRecording(room: string): Promise<{ path: string }[]> {
    this.stopped.push(room);
    return [{ path: 'a.webm' }, { path: 'b.webm' }];
  }
}

describe('signaling: the record frame', () => {
  const clients: TestClient[] = [];
  const servers: { close(): Promise<void> }[] = [];
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    for (const s of servers) await s.close();
  });
  const start = async (recordDir?: string) => {
    const sfu = new RecordingSfu();
    const srv = await startTestServer(
      { heartbeatIntervalMs: 600_000, sfuSwitchAt: 2, sfuBackAt: 1, ...(recordDir ? { recordDir } : {}) },
      { sfu },
    );
    servers.push(srv);
    const join = async (room: string): Promise<[TestClient, Msg]> => {
      const c = await TestClient.open(srv.wsUrl);
      clients.push(c);
      return [c, await c.join(room)];
    };
    return { sfu, join };
  };

  test('refused without --record-dir, and in mesh mode', async () => {
    const off = await start();
    const [a] = await off.join('r');
    await off.join('r');
    a.send({ v: 1, type: 'record', on: true });
    const e = await a.next('error');
    assert.equal(e.code, 'ERR_SIGNALING_RECORDING_OFF');
    assert.equal(e.ref, 'record');
    assert.equal(off.sfu.started.length, 0);

    const on = await start('/tmp/rtcs-rec-never-written');
    const [solo] = await on.join('alone');
    solo.send({ v: 1, type: 'record', on: true });
    assert.equal((await solo.next('error')).code, 'ERR_SIGNALING_NOT_SFU');
    assert.equal(on.sfu.started.length, 0);
  });

  test('in SFU mode: started and stopped in a directory of its own, everyone told', async () => {
    const s = await start('/tmp/rtcs-rec-never-written');
    const [a, wa] = await s.join('room1');
    const [b] = await s.join('room1');
    assert.equal((await a.next('mode')).mode, 'sfu');
    b.send({ v: 1, type: 'record', on: true });
    for (const c of [a, b]) {
      const m = await c.next('recording');
      assert.equal(m.on, true);
      assert.notEqual(m.by, wa.peerId);
    }
    assert.equal(s.sfu.started.length, 1);
    assert.match(s.sfu.started[0]!.dir, /^\/tmp\/rtcs-rec-never-written\/room1-\d{4}-/);
    a.send({ v: 1, type: 'record', on: false });
    for (const c of [a, b]) {
      const m = await c.next('recording');
      assert.equal(m.on, false);
      assert.equal(m.by, wa.peerId);
      assert.equal(m.files, 2);
    }
    assert.deepEqual(s.sfu.stopped, ['room1']);
    // Malformed frames are refused by the schema.
    a.send({ v: 1, type: 'record', on: 'yes' });
    assert.equal((await a.next('error')).code, 'ERR_SIGNALING_BAD_MESSAGE');
  });
});
