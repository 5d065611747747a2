/**
 * Diagnostic (not a benchmark): the timeline of one warm rtcstack connection setup, as `bench/peer.ts`
 * runs it: every datagram each side sends (STUN, DTLS records, and inside DTLS the SCTP chunks and
 * DCEP messages), state changes and `open`, in ms from createOffer.
 *
 *   node --import tsx bench/_peer-timeline.ts [--rounds N] [--dtls 1.2|1.3] [--cost] [--gc] [--debug]
 *
 * --cost marks how long each incoming DTLS datagram took to handle (synchronous work); --gc marks
 * garbage collections.
 *
 * Prints the last of N rounds (default 5; the first ones warm up).
 */

import type { Network, UdpSocket } from '../src/core/net.js';
import { NodeNetwork } from '../src/core/net-node.js';
import { DtlsEndpoint } from '../src/dtls/endpoint.js';
import { RTCPeerConnection } from '../src/peer/index.js';
import { SctpAssociation } from '../src/sctp/association.js';

const args = process.argv.slice(2);
const ROUNDS = Number(args[args.indexOf('--rounds') + 1] || 5) || 5;
const DTLS = args.includes('--dtls') ? [args[args.indexOf('--dtls') + 1] as '1.2' | '1.3'] : undefined;

let t0 = 0;
let lines: string[] = [];
const mark = (side: string, what: string): void => {
  lines.push(`${(performance.now() - t0).toFixed(2).padStart(7)}  ${side}  ${what}`);
};

const STUN_METHODS: Record<number, string> = { 1: 'Binding' };
const STUN_CLASSES = ['request', 'indication', 'success', 'error'];
const HS: Record<number, string> = {
  1: 'ClientHello',
  2: 'ServerHello',
  3: 'HelloVerifyRequest',
  4: 'NewSessionTicket',
  8: 'EncryptedExtensions',
  11: 'Certificate',
  12: 'ServerKeyExchange',
  13: 'CertificateRequest',
  14: 'ServerHelloDone',
  15: 'CertificateVerify',
  16: 'ClientKeyExchange',
  20: 'Finished',
};
const CT: Record<number, string> = { 20: 'CCS', 21: 'Alert', 22: 'Handshake', 23: 'AppData', 26: 'ACK' };

/** A datagram on the wire, described. */
function describeWire(d: Uint8Array): string {
  const b = d[0] ?? 0;
  if (b < 4) {
    const type = ((d[0] ?? 0) << 8) | (d[1] ?? 0);
    const method = (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
    const cls = ((type & 0x0010) >> 4) | ((type & 0x0100) >> 7);
    const useCand = hasAttr(d, 0x0025) ? ' USE-CANDIDATE' : '';
    return `STUN ${STUN_METHODS[method] ?? method} ${STUN_CLASSES[cls]}${useCand}`;
  }
  if (b >= 20 && b <= 63) {
    const recs: string[] = [];
    let o = 0;
    while (o + 13 <= d.length) {
      const ct = d[o] ?? 0;
      if ((ct & 0xe0) === 0x20) {
        recs.push('1.3-encrypted');
        break; // unified header: length may be absent; stop describing
      }
      const epoch = ((d[o + 3] ?? 0) << 8) | (d[o + 4] ?? 0);
      const len = ((d[o + 11] ?? 0) << 8) | (d[o + 12] ?? 0);
      let r = `${CT[ct] ?? ct}/e${epoch}`;
      if (ct === 22 && epoch === 0) r += `:${HS[d[o + 13] ?? 0] ?? d[o + 13]}`;
      recs.push(r);
      o += 13 + len;
    }
    return `DTLS ${d.length}B [${recs.join(' ')}]`;
  }
  return `other ${b}`;
}

function hasAttr(d: Uint8Array, want: number): boolean {
  let o = 20;
  while (o + 4 <= d.length) {
    const t = ((d[o] ?? 0) << 8) | (d[o + 1] ?? 0);
    const l = ((d[o + 2] ?? 0) << 8) | (d[o + 3] ?? 0);
    if (t === want) return true;
    o += 4 + ((l + 3) & ~3);
  }
  return false;
}

const CHUNK: Record<number, string> = {
  0: 'DATA',
  1: 'INIT',
  2: 'INIT-ACK',
  3: 'SACK',
  4: 'HB',
  5: 'HB-ACK',
  6: 'ABORT',
  10: 'COOKIE-ECHO',
  11: 'COOKIE-ACK',
  64: 'I-DATA',
  130: 'RE-CONFIG',
  192: 'FORWARD-TSN',
};

/** An SCTP packet (DTLS plaintext), described: its chunks, DCEP messages named. */
function describeSctp(p: Uint8Array): string {
  const out: string[] = [];
  let o = 12;
  while (o + 4 <= p.length) {
    const type = p[o] ?? 0;
    const len = ((p[o + 2] ?? 0) << 8) | (p[o + 3] ?? 0);
    let s = CHUNK[type] ?? `chunk${type}`;
    if (type === 0) {
      const ppid =
        ((p[o + 12] ?? 0) << 24) | ((p[o + 13] ?? 0) << 16) | ((p[o + 14] ?? 0) << 8) | (p[o + 15] ?? 0);
      if (ppid === 50) s += p[o + 16] === 3 ? '(DCEP OPEN)' : p[o + 16] === 2 ? '(DCEP ACK)' : '(DCEP ?)';
      else s += `(ppid ${ppid})`;
    }
    out.push(s);
    if (len < 4) break;
    o += (len + 3) & ~3;
  }
  return `SCTP ${out.join(' + ')}`;
}

const sideOf = new Map<unknown, string>();
/** The network of one side: every datagram sent is marked. */
function tapped(side: string): Network {
  const real = new NodeNetwork();
  return {
    interfaces: () => real.interfaces(),
    listenTcp: (o) => real.listenTcp(o),
    connectTcp: (o) => real.connectTcp(o),
    async bindUdp(o) {
      const s = await real.bindUdp(o);
      const wrapped: UdpSocket = {
        get local() {
          return s.local;
        },
        get closed() {
          return s.closed;
        },
        get onMessage() {
          return s.onMessage;
        },
        set onMessage(fn) {
          s.onMessage = fn;
        },
        send(data, to) {
          mark(side, `-> ${describeWire(data)}`);
          return s.send(data, to);
        },
        close: () => s.close(),
      };
      return wrapped;
    },
  };
}

// SCTP inside DTLS: outgoing through DtlsEndpoint.send, incoming through SctpAssociation.handle.
const dtlsSend = DtlsEndpoint.prototype.send;
DtlsEndpoint.prototype.send = function (this: DtlsEndpoint, data: Uint8Array) {
  mark(sideOf.get(this.role) ?? '?', `   (in DTLS) ${describeSctp(data)}`);
  return dtlsSend.call(this, data);
};
void SctpAssociation;
if (args.includes('--cost')) {
  // How long each incoming DTLS datagram keeps the event loop (the handshake's work is synchronous).
  const handle = DtlsEndpoint.prototype.handle;
  DtlsEndpoint.prototype.handle = function (this: DtlsEndpoint, d: Uint8Array) {
    const t = performance.now();
    const r = handle.call(this, d);
    mark(
      sideOf.get(this.role) ?? '?',
      `   DTLS handled ${d.length}B in ${(performance.now() - t).toFixed(2)} ms`,
    );
    return r;
  };
}
if (args.includes('--debug')) {
  const { IceAgent } = await import('../src/ice/agent.js');
  const { Pacer } = await import('../src/ice/pacing.js');
  const add = IceAgent.prototype.addRemoteCandidate;
  IceAgent.prototype.addRemoteCandidate = function (this: InstanceType<typeof IceAgent>, c) {
    mark(this.controlling ? 'A' : 'B', `addRemoteCandidate ${typeof c === 'string' ? c.slice(0, 60) : c}`);
    return add.call(this, c);
  };
  const sch = Pacer.prototype.schedule;
  Pacer.prototype.schedule = function (this: InstanceType<typeof Pacer>) {
    mark('?', 'pacer schedule');
    return sch.call(this);
  };
}

async function round(): Promise<void> {
  t0 = performance.now();
  lines = [];
  const opts = (side: string) => ({
    includeLoopback: true,
    ipv6: false,
    network: tapped(side),
    ...(DTLS && { dtlsVersions: DTLS }),
  });
  const a = new RTCPeerConnection({}, opts('A'));
  const b = new RTCPeerConnection({}, opts('B'));
  for (const [pc, side] of [
    [a, 'A'],
    [b, 'B'],
  ] as const) {
    pc.oniceconnectionstatechange = () => mark(side, `ice ${pc.iceConnectionState}`);
    pc.onconnectionstatechange = () => mark(side, `connection ${pc.connectionState}`);
  }
  // DTLS roles: the answerer (B) is the client here.
  sideOf.set('client', 'B');
  sideOf.set('server', 'A');
  const heldForB: unknown[] = [];
  const heldForA: unknown[] = [];
  let bReady = false;
  let aReady = false;
  a.onicecandidate = (e) => {
    mark('A', `icecandidate ${e.candidate?.candidate ?? 'end'}`);
    if (!e.candidate) return;
    if (bReady) void b.addIceCandidate(e.candidate);
    else heldForB.push(e.candidate);
  };
  b.onicecandidate = (e) => {
    mark('B', `icecandidate ${e.candidate?.candidate ?? 'end'}`);
    if (!e.candidate) return;
    if (aReady) void a.addIceCandidate(e.candidate);
    else heldForA.push(e.candidate);
  };
  const dc = a.createDataChannel('bench');
  const aOpen = new Promise<void>((r) => {
    dc.onopen = () => {
      mark('A', 'open');
      r();
    };
  });
  const bOpen = new Promise<void>((r) => {
    b.ondatachannel = (e) => {
      const ch = e.channel;
      if (ch.readyState === 'open') {
        mark('B', 'datachannel (open)');
        r();
      } else
        ch.onopen = () => {
          mark('B', 'open');
          r();
        };
    };
  });
  mark('A', 'createOffer');
  const offer = await a.createOffer();
  await a.setLocalDescription(offer);
  mark('A', 'SLD(offer) done');
  await b.setRemoteDescription(a.localDescription ?? offer);
  mark('B', 'SRD(offer) done');
  bReady = true;
  for (const c of heldForB) void b.addIceCandidate(c as RTCIceCandidate);
  const answer = await b.createAnswer();
  await b.setLocalDescription(answer);
  mark('B', 'SLD(answer) done');
  await a.setRemoteDescription(b.localDescription ?? answer);
  mark('A', 'SRD(answer) done');
  aReady = true;
  for (const c of heldForA) void a.addIceCandidate(c as RTCIceCandidate);
  await Promise.all([aOpen, bOpen]);
  mark('-', 'both open');
  a.close();
  b.close();
}

if (args.includes('--gc')) {
  // Garbage collections during the round, where they started and how long they held the thread.
  const { PerformanceObserver } = await import('node:perf_hooks');
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      const name = { 1: 'scavenge', 2: 'minor mark-compact', 4: 'mark-compact', 8: 'weak callbacks' }[
        kind ?? 0
      ];
      lines.push(
        `${(e.startTime - t0).toFixed(2).padStart(7)}  -  GC ${name ?? kind} ${e.duration.toFixed(2)} ms`,
      );
    }
  }).observe({ entryTypes: ['gc'] });
}

for (let i = 0; i < ROUNDS; i++) await round();
// GC entries arrive after the fact: let the observer deliver, then print in time order.
await new Promise((r) => setTimeout(r, 50));
console.log(lines.sort((x, y) => Number.parseFloat(x) - Number.parseFloat(y)).join('\n'));
process.exit(0);
