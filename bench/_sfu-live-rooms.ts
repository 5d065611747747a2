/**
 * For bench/sfu-live.ts: one publisher and N subscribers, rtcstack RTCPeerConnections in this
 * process, joined to an SFU in another process: Janus's VideoRoom (its JSON API over WebSocket)
 * or `rtcstack serve` (our signaling v1, SFU mode). Only loopback candidates are exchanged.
 */
import WebSocket from 'ws';
import { RTCPeerConnection } from '../src/peer/index.js';
import type { ServerMessage } from '../src/protocol/signaling.js';
import { JanusSession } from './_janus.js';
import type { LiveSource } from './_sfu-live-media.js';

const OPTS = { includeLoopback: true, ipv6: false };
const ROOM = 4242;
const PUBLISHER_ID = 1;

export interface LiveRoom {
  readonly publisher: RTCPeerConnection;
  readonly subscribers: RTCPeerConnection[];
  close(): Promise<void>;
}

type Cand = { candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null };
const loopback = (c: { candidate: string }): boolean => / 127\.0\.0\.1 /.test(c.candidate);

/** Our candidates to `send` (loopback ones only), and the end of them as null. */
function trickleOut(pc: RTCPeerConnection, send: (c: Cand | null) => void): void {
  pc.onicecandidate = (e) => {
    if (!e.candidate) send(null);
    else if (loopback(e.candidate)) send(e.candidate.toJSON() as Cand);
  };
}

/** Remote candidates held until the remote description is set. */
function trickleIn(pc: RTCPeerConnection): { add: (c: Cand) => void; ready: () => void } {
  let held: Cand[] | undefined = [];
  const apply = (c: Cand): void => void pc.addIceCandidate(c).catch(() => {});
  return {
    add: (c) => (held ? held.push(c) : apply(c)),
    ready: () => {
      const list = held ?? [];
      held = undefined;
      for (const c of list) apply(c);
    },
  };
}

const connected = (pc: RTCPeerConnection, what: string, ms = 60_000): Promise<void> =>
  new Promise((resolve, reject) => {
    if (pc.connectionState === 'connected') return resolve();
    const t = setTimeout(
      () => reject(new Error(`${what}: not connected after ${ms} ms (${pc.connectionState})`)),
      ms,
    );
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'connected') {
        clearTimeout(t);
        resolve();
      } else if (pc.connectionState === 'failed') {
        clearTimeout(t);
        reject(new Error(`${what}: connection failed`));
      }
    });
  });

/** Runs `f` over 0..n-1, `width` at a time. */
async function batched(n: number, width: number, f: (i: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < n; i += width)
    await Promise.all(Array.from({ length: Math.min(width, n - i) }, (_, k) => f(i + k)));
}

/**
 * A subscriber's answer; without `twcc` it declines transport-cc (the header extension stopped), so
 * neither SFU runs a downlink estimate from its feedback.
 */
async function answerOffer(pc: RTCPeerConnection, twcc: boolean): Promise<void> {
  if (!twcc)
    for (const t of pc.getTransceivers())
      t.setHeaderExtensionsToNegotiate(
        t
          .getHeaderExtensionsToNegotiate()
          .map((e) => ({ ...e, direction: /transport-wide/.test(e.uri) ? 'stopped' : e.direction }) as const),
      );
  await pc.setLocalDescription(await pc.createAnswer());
}

function publisherPc(source: LiveSource): RTCPeerConnection {
  const pc = new RTCPeerConnection({}, OPTS);
  const enc = source.encodings;
  pc.addTransceiver(source.video, { direction: 'sendonly', ...(enc ? { sendEncodings: enc } : {}) });
  pc.addTransceiver(source.audio, { direction: 'sendonly' });
  return pc;
}

/** Janus VideoRoom: room created, the publisher publishes, each subscriber subscribes to its feed. */
export async function janusRoom(
  wsUrl: string,
  n: number,
  source: LiveSource,
  twcc: boolean,
): Promise<LiveRoom> {
  const session = await JanusSession.open(wsUrl);
  const pcs: RTCPeerConnection[] = [];
  try {
    const admin = await session.attach();
    await session.sync(admin, {
      request: 'create',
      room: ROOM,
      publishers: 1,
      videocodec: 'vp8',
      audiocodec: 'opus',
      bitrate: 0,
      fir_freq: 0,
    });
    const pub = publisherPc(source);
    pcs.push(pub);
    const ph = await session.attach();
    const pin = trickleIn(pub);
    ph.oncandidate = (c) => c && pin.add(c);
    trickleOut(pub, (c) => ph.trickle(c));
    await ph.request({ request: 'join', ptype: 'publisher', room: ROOM, id: PUBLISHER_ID });
    await pub.setLocalDescription(await pub.createOffer());
    // Janus takes the rids of an offer as high-to-low unless told: ours (as Chromium's) go q;h;f.
    const r = await ph.request(
      { request: 'publish' },
      { type: 'offer', sdp: pub.localDescription!.sdp, ...(source.simulcast ? { rid_order: 'lmh' } : {}) },
    );
    if (!r.jsep) throw new Error(`janus publish: no answer (${JSON.stringify(r.data)})`);
    await pub.setRemoteDescription(r.jsep);
    pin.ready();
    await connected(pub, 'janus publisher');
    const subscribers: RTCPeerConnection[] = [];
    await batched(n, 10, async () => {
      const pc = new RTCPeerConnection({}, OPTS);
      pcs.push(pc);
      subscribers.push(pc);
      const h = await session.attach();
      const sin = trickleIn(pc);
      h.oncandidate = (c) => c && sin.add(c);
      trickleOut(pc, (c) => h.trickle(c));
      const j = await h.request({
        request: 'join',
        ptype: 'subscriber',
        room: ROOM,
        streams: [{ feed: PUBLISHER_ID }],
      });
      if (!j.jsep) throw new Error(`janus subscribe: no offer (${JSON.stringify(j.data)})`);
      await pc.setRemoteDescription(j.jsep);
      sin.ready();
      await answerOffer(pc, twcc);
      await h.request({ request: 'start' }, { type: 'answer', sdp: pc.localDescription!.sdp });
      await connected(pc, 'janus subscriber');
    });
    return {
      publisher: pub,
      subscribers,
      close: async () => {
        for (const pc of pcs) pc.close();
        session.close();
      },
    };
  } catch (err) {
    for (const pc of pcs) pc.close();
    session.close();
    throw err;
  }
}

/** One signaling v1 connection to `rtcstack serve`. */
class Participant {
  readonly ws: WebSocket;
  readonly #waiters: { match: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }[] = [];
  onMessage: ((m: ServerMessage) => void) | undefined;
  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on('message', (raw) => {
      const m = JSON.parse(raw.toString()) as ServerMessage;
      for (const w of [...this.#waiters])
        if (w.match(m)) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1);
          w.resolve(m);
        }
      this.onMessage?.(m);
    });
  }
  async open(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }
  send(m: object): void {
    this.ws.send(JSON.stringify({ v: 1, ...m }));
  }
  next(match: (m: ServerMessage) => boolean): Promise<ServerMessage> {
    return new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }
}

/**
 * `rtcstack serve` (started with `--sfu --sfu-switch-at 2`): N subscribers join the room, then the
 * publisher; it publishes on its `pub` connection, each subscriber answers the server's `sub`
 * offers (again when the publisher's tracks arrive).
 */
export async function rtcstackRoom(
  wsUrl: string,
  n: number,
  source: LiveSource,
  twcc: boolean,
): Promise<LiveRoom> {
  const people: Participant[] = [];
  const pcs: RTCPeerConnection[] = [];
  const subscribers: RTCPeerConnection[] = [];
  const close = async (): Promise<void> => {
    for (const pc of pcs) pc.close();
    for (const p of people) p.ws.close();
  };
  try {
    const join = async (): Promise<Participant> => {
      const p = new Participant(wsUrl);
      people.push(p);
      await p.open();
      const welcome = p.next((m) => m.type === 'welcome' || m.type === 'error');
      p.send({ type: 'join', room: 'bench' });
      const w = await welcome;
      if (w.type !== 'welcome') throw new Error(`join refused: ${JSON.stringify(w)}`);
      return p;
    };
    const flowing: Promise<void>[] = [];
    await batched(n, 10, async () => {
      const p = await join();
      const pc = new RTCPeerConnection({}, OPTS);
      pcs.push(pc);
      subscribers.push(pc);
      const sin = trickleIn(pc);
      trickleOut(pc, (c) =>
        c
          ? p.send({ type: 'sfu-candidate', pc: 'sub', candidate: c })
          : p.send({ type: 'sfu-end-of-candidates', pc: 'sub' }),
      );
      let chain = Promise.resolve();
      p.onMessage = (m) => {
        if (m.type === 'sfu-candidate' && m.pc === 'sub') sin.add(m.candidate);
        if (m.type !== 'sfu-offer') return;
        chain = chain.then(async () => {
          await pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
          sin.ready();
          await answerOffer(pc, twcc);
          p.send({ type: 'sfu-answer', pc: 'sub', sdp: pc.localDescription!.sdp });
        });
      };
      flowing.push(connected(pc, 'rtcstack subscriber', 120_000));
    });
    const pp = await join();
    const pub = publisherPc(source);
    pcs.push(pub);
    const pin = trickleIn(pub);
    trickleOut(pub, (c) =>
      c
        ? pp.send({ type: 'sfu-candidate', pc: 'pub', candidate: c })
        : pp.send({ type: 'sfu-end-of-candidates', pc: 'pub' }),
    );
    pp.onMessage = (m) => {
      if (m.type === 'sfu-candidate' && m.pc === 'pub') pin.add(m.candidate);
    };
    await pub.setLocalDescription(await pub.createOffer());
    const answer = pp.next((m) => (m.type === 'sfu-answer' && m.pc === 'pub') || m.type === 'error');
    pp.send({ type: 'sfu-offer', pc: 'pub', sdp: pub.localDescription!.sdp });
    const a = await answer;
    if (a.type !== 'sfu-answer') throw new Error(`publish refused: ${JSON.stringify(a)}`);
    await pub.setRemoteDescription({ type: 'answer', sdp: a.sdp });
    pin.ready();
    await connected(pub, 'rtcstack publisher');
    await Promise.all(flowing);
    return { publisher: pub, subscribers, close };
  } catch (err) {
    await close();
    throw err;
  }
}
