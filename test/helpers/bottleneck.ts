/**
 * A sender behind a bottleneck on the virtual network (ManualClock), for congestion-control tests:
 * host 'a' (203.0.113.1, port 5000) sends numbered packets up a link of `bandwidth` bits/s (a
 * `queueBytes` buffer, 20 ms delay) to host 'b' (203.0.113.2, port 6000), whose TwccRecorder
 * notes each arrival; `feedback()` sends b's TWCC feedback back to a, where `onTwcc` reads it.
 */
import { ManualClock } from '../../src/core/clock.js';
import { VirtualNetwork } from '../../src/core/vnet/index.js';
import { TwccRecorder } from '../../src/interceptor/twcc-recorder.js';
import { parseRtcp, serializeRtcp } from '../../src/rtcp/index.js';
import type { TransportCcFeedback } from '../../src/rtcp/twcc.js';

const A = { address: '203.0.113.1', port: 5000 };
const B = { address: '203.0.113.2', port: 6000 };

export interface Bottleneck {
  readonly clock: ManualClock;
  /** A `size`-byte packet carrying transport-wide sequence number `seq` (its first two bytes). */
  send(seq: number, size: number): void;
  /** b's TWCC feedback for what arrived since the last (none if nothing did), sent to a. */
  feedback(): void;
  /** The bottleneck's new rate (same buffer and delay). */
  setBandwidth(bandwidth: number): void;
  /** Packets b received. */
  readonly received: number;
  close(): void;
}

export async function bottleneck(o: {
  seed: number;
  bandwidth: number;
  queueBytes?: number;
  onTwcc: (fb: TransportCcFeedback) => void;
}): Promise<Bottleneck> {
  const clock = new ManualClock();
  const net = new VirtualNetwork({ clock, seed: o.seed });
  const link = (bandwidth: number) => ({ bandwidth, queueBytes: o.queueBytes ?? 30_000, delay: 20 });
  const a = net.host('a', { address: A.address, link: link(o.bandwidth) });
  const b = net.host('b', { address: B.address, link: { delay: 20 } });
  const sa = await a.bindUdp({ port: A.port });
  const sb = await b.bindUdp({ port: B.port });
  const recorder = new TwccRecorder();
  let received = 0;
  sb.onMessage = (d) => {
    received++;
    recorder.record((d[0]! << 8) | d[1]!, clock.now());
  };
  sa.onMessage = (d) => {
    for (const p of parseRtcp(d)) if (p.type === 'twcc') o.onTwcc(p);
  };
  return {
    clock,
    send(seq, size) {
      const data = new Uint8Array(size);
      data[0] = seq >> 8;
      data[1] = seq & 0xff;
      sa.send(data, B);
    },
    feedback() {
      const fb = recorder.buildFeedback(1, 2);
      if (fb) sb.send(serializeRtcp([fb]), A);
    },
    setBandwidth: (bandwidth) => a.link.set(link(bandwidth), 'up'),
    get received() {
      return received;
    },
    close() {
      sa.close();
      sb.close();
      net.close();
    },
  };
}
