/**
 * Our SCTP association against a second implementation: werift's SCTP (TypeScript, RFC 4960 style,
 * no I-DATA, no zero checksum), connected directly packet to packet (no DTLS) on the system clock.
 * Checks the wire format both ways: CRC32c, INIT/COOKIE handshake, DATA fragmentation, SACKs and a
 * stream reset from the peer.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { SystemClock } from '../../src/core/clock.js';
import { SctpAssociation } from '../../src/sctp/association.js';

interface WeriftSctp {
  start(remotePort?: number): Promise<void>;
  send(streamId: number, ppid: number, data: Buffer, o?: { ordered?: boolean }): Promise<void>;
  handleData(data: Buffer): Promise<void>;
  stop(): Promise<void>;
  onReceive: { subscribe(fn: (streamId: number, ppid: number, data: Buffer) => void): void };
  stateChanged: { connected: { subscribe(fn: () => void): void } };
  onReconfigStreams: { subscribe(fn: (ids: number[]) => void): void };
  associationState: number;
}
interface WeriftSctpClass {
  client(t: unknown, port?: number): WeriftSctp;
  server(t: unknown, port?: number): WeriftSctp;
}

const require = createRequire(import.meta.url);
const { SCTP } = require(join(process.cwd(), 'node_modules/werift/lib/sctp/src/sctp.js')) as {
  SCTP: WeriftSctpClass;
};

function link(theirsIsClient: boolean) {
  const clock = new SystemClock({ unref: true });
  let theirs!: WeriftSctp;
  let closed = false;
  const ours = new SctpAssociation({
    clock,
    send: (p) => {
      const copy = Buffer.from(p);
      setImmediate(() => {
        if (!closed) void theirs.handleData(copy).catch(() => {});
      });
    },
  });
  const transport = {
    onData: undefined as ((b: Buffer) => void) | undefined,
    send: async (buf: Buffer) => {
      const copy = new Uint8Array(buf);
      setImmediate(() => {
        if (!closed) ours.handle(copy);
      });
    },
    close: () => {},
  };
  theirs = theirsIsClient ? SCTP.client(transport) : SCTP.server(transport);
  const close = async () => {
    closed = true;
    ours.close();
    await theirs.stop().catch(() => {});
  };
  return { ours, theirs, close };
}

/** Resolves once cond() holds (polled; this test runs on real time against a real peer). */
function until(cond: () => boolean): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setInterval(() => {
      if (!cond()) return;
      clearInterval(t);
      resolve();
    }, 5);
    t.unref(); // a timed-out wait must not keep the test process alive
  });
}

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => {
    t = setTimeout(() => rej(new Error(`timed out: ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(t);
  }
}

for (const theirsIsClient of [true, false]) {
  test(`werift SCTP ${theirsIsClient ? 'sends INIT' : 'answers our INIT'}: handshake, messages both ways, stream reset`, async () => {
    const l = link(theirsIsClient);
    try {
      const open = new Promise<void>((r) => l.ours.once('open', () => r()));
      const theirsUp = new Promise<void>((r) => l.theirs.stateChanged.connected.subscribe(() => r()));
      if (theirsIsClient) {
        await l.theirs.start(5000);
      } else {
        await l.theirs.start(5000);
        l.ours.start();
      }
      await within(Promise.all([open, theirsUp]), 5000, 'handshake');
      assert.equal(l.ours.interleaving, false, 'werift has no I-DATA');
      assert.equal(l.ours.zeroChecksum, false, 'werift does not accept zero checksum');

      // werift -> us: small and fragmented messages, in order.
      const gotOurs: { stream: number; ppid: number; data: Uint8Array }[] = [];
      l.ours.on('message', (stream, ppid, data) => gotOurs.push({ stream, ppid, data: data.slice() }));
      const big = Buffer.alloc(50_000, 7);
      big[0] = 1;
      await l.theirs.send(1, 53, Buffer.from('hello'));
      await l.theirs.send(1, 53, big);
      await within(
        until(() => gotOurs.length >= 2),
        5000,
        'messages from werift',
      );
      assert.equal(Buffer.from(gotOurs[0]!.data).toString(), 'hello');
      assert.deepEqual(gotOurs[1]!.data, new Uint8Array(big));

      // us -> werift
      const gotTheirs: Buffer[] = [];
      l.theirs.onReceive.subscribe((_s, _p, data) => gotTheirs.push(data));
      const mine = new Uint8Array(100_000).map((_, i) => i & 0xff);
      l.ours.send(2, 53, new TextEncoder().encode('world'));
      l.ours.send(2, 53, mine);
      l.ours.send(3, 51, new TextEncoder().encode('unordered'), { unordered: true });
      await within(
        until(() => gotTheirs.length >= 3),
        5000,
        'messages to werift',
      );
      const texts = gotTheirs.map((b) => (b.length < 20 ? b.toString() : `${b.length}`));
      assert.ok(
        texts.includes('world') && texts.includes('unordered') && texts.includes('100000'),
        texts.join(),
      );
      assert.deepEqual(new Uint8Array(gotTheirs.find((b) => b.length === 100_000)!), mine);

      // our stream reset is performed by werift (RE-CONFIG outgoing SSN reset, RFC 6525)
      const done = new Promise<number[]>((r) => l.ours.once('streamResetDone', r));
      l.ours.resetStreams([2]);
      assert.deepEqual(await within(done, 5000, 'stream reset'), [2]);
      assert.equal(l.ours.state, 'established');
      assert.equal(l.ours.stats.checksumErrors, 0);
      assert.equal(l.ours.stats.parseErrors, 0);
    } finally {
      await l.close();
    }
  });
}
