/**
 * The call page: /?room=NAME[&name=ann][&relay=1][&simulcast=0][&token=...][&stats=ms][&media=0]
 * [&svc=L3T3_KEY[&svccodec=av1]] (SFU mode: publish one SVC stream, VP9 unless av1, not simulcast)
 * [&maxheight=180] (SFU mode: receive video of at most that many lines)
 * A thin UI over the client library's Call. For automated tests it exposes window.rtcstackCall.
 */
import { Call, type CallSnapshot, type FileRecord } from '../src/client/index.js';

const params = new URLSearchParams(location.search);
let room = params.get('room') ?? '';
if (!/^[A-Za-z0-9_.-]{1,64}$/.test(room)) {
  room = `room-${Math.random().toString(36).slice(2, 8)}`;
  params.set('room', room);
  history.replaceState(null, '', `?${params}`);
}
const relay = params.get('relay') === '1';
const wantMedia = params.get('media') !== '0';
const statsMs = Number(params.get('stats') ?? '1000');
const videoSize = /^(\d{2,4})x(\d{2,4})$/.exec(params.get('video') ?? '');
const videoW = Number(videoSize?.[1] ?? 640);
const videoH = Number(videoSize?.[2] ?? 480);
const fps = Number(params.get('fps') ?? '0');

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
$('room-name').textContent = room;

const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
const call = new Call({
  url: wsUrl,
  room,
  ...(params.get('name') ? { name: params.get('name')! } : {}),
  ...(params.get('token') ? { token: params.get('token')! } : {}),
  relayOnly: relay,
  simulcast: params.get('simulcast') !== '0',
  ...(/^L\dT\d(_KEY)?$/.test(params.get('svc') ?? '') && {
    svc: params.get('svc')!,
    svcCodec: params.get('svccodec') === 'av1' ? ('av1' as const) : ('vp9' as const),
  }),
  ...(Number(params.get('maxheight')) > 0 && {
    maxHeight: Math.min(4320, Math.floor(Number(params.get('maxheight')))),
  }),
  statsIntervalMs: Number.isFinite(statsMs) && statsMs >= 100 ? statsMs : 1000,
});

// ---- video grid ----
const tiles = new Map<
  string,
  { fig: HTMLElement; video: HTMLVideoElement; who: HTMLElement; badge: HTMLElement; state: HTMLElement }
>();

function tileFor(id: string): NonNullable<ReturnType<typeof tiles.get>> {
  let t = tiles.get(id);
  if (t) return t;
  const fig = document.createElement('figure');
  fig.className = 'tile';
  fig.dataset.peer = id;
  const video = document.createElement('video');
  video.autoplay = true;
  video.playsInline = true;
  const cap = document.createElement('figcaption');
  const who = document.createElement('span');
  who.className = 'who';
  const badge = document.createElement('span');
  badge.className = 'badge';
  const state = document.createElement('span');
  state.className = 'badge state';
  cap.append(who, badge, state);
  fig.append(video, cap);
  $('grid').append(fig);
  t = { fig, video, who, badge, state };
  tiles.set(id, t);
  return t;
}

function renderPeers(): void {
  const views = call.peers();
  const seen = new Set<string>();
  for (const p of views) {
    seen.add(p.id);
    const t = tileFor(p.id);
    t.who.textContent = p.name;
    const path = p.stats.pathType;
    t.badge.className = `badge ${path ?? ''}`;
    t.badge.textContent = path
      ? `${path}${p.stats.rttMs !== null ? ` · ${Math.round(p.stats.rttMs)} ms` : ''}`
      : '…';
    t.badge.title = `${p.stats.localAddress ?? '?'} ⇄ ${p.stats.remoteAddress ?? '?'}`;
    t.state.textContent =
      p.connectionState === 'connected' ? `${p.stats.bitrateInKbps} kbps` : p.connectionState;
    if (p.stream && t.video.srcObject !== p.stream) t.video.srcObject = p.stream;
    const muted = call.mutedOf(p.id);
    t.fig.classList.toggle('cam-off', muted.video);
    t.who.textContent = `${p.name}${muted.audio ? ' 🔇' : ''}${muted.video ? ' (camera off)' : ''}`;
  }
  for (const [id, t] of tiles) {
    if (!seen.has(id)) {
      t.fig.remove();
      tiles.delete(id);
    }
  }
}

call.on('track', () => renderPeers());
call.on('peer-state', () => renderPeers());
call.on('peer-joined', () => renderPeers());
call.on('peer-left', () => renderPeers());
call.on('stats', () => renderPeers());
call.on('peer-muted', () => renderPeers());

// ---- mode (mesh / SFU) and active speaker ----
function renderMode(): void {
  const pill = $('mode');
  pill.textContent = call.mode === 'sfu' ? 'SFU' : 'mesh';
  pill.className = `pill ${call.mode}`;
  $('btn-rec').hidden = call.mode !== 'sfu';
  pill.title =
    call.mode === 'sfu'
      ? 'media goes through the server, which forwards the layer each link can carry'
      : 'media goes peer to peer';
}
call.on('mode', () => {
  renderMode();
  renderPeers();
});
call.on('joined', () => renderMode());
call.on('active-speaker', (id) => {
  for (const [peer, t] of tiles) t.fig.classList.toggle('speaking', peer === id);
});

// ---- recording (SFU mode): anyone in the room may start or stop it; everyone sees it ----
function renderRecording(): void {
  $('rec').hidden = !call.recording;
  $('btn-rec').textContent = call.recording ? 'Stop recording' : 'Record';
}
call.on('recording', () => renderRecording());
call.on('mode', () => renderRecording());
$('btn-rec').addEventListener('click', () => call.setRecording(!call.recording));

// ---- signaling state ----
call.on('signaling', (s) => {
  const pill = $('sig-state');
  pill.textContent = s;
  pill.className = `pill ${s === 'joined' ? 'ok' : 'warn'}`;
});
call.on('joined', (w) => {
  $('me').textContent = `${w.name} (${w.peerId})`;
  $('self-label').textContent = `${w.name} (you)`;
  const pill = $('sig-state');
  pill.textContent = relay ? 'joined · relay only' : 'joined';
  pill.className = 'pill ok';
});
call.on('error', (code, message) => {
  const el = $('error');
  el.hidden = false;
  el.textContent = `${code}: ${message}`;
});

// ---- chat ----
function addChatLine(from: string, text: string): void {
  const li = document.createElement('li');
  const who = document.createElement('span');
  who.className = 'from';
  who.textContent = from;
  li.append(who, document.createTextNode(text));
  const log = $('chat-log');
  log.append(li);
  log.scrollTop = log.scrollHeight;
}
call.on('chat', (m) => addChatLine(m.from === call.peerId ? 'you' : m.name, m.text));
$<HTMLFormElement>('chat-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = $<HTMLInputElement>('chat-input');
  const text = input.value.trim();
  if (text) call.sendChat(text);
  input.value = '';
});

// ---- files ----
const fileRows = new Map<string, HTMLLIElement>();
function renderFile(rec: FileRecord): void {
  const key = `${rec.direction}:${rec.peer}:${rec.id}`;
  let li = fileRows.get(key);
  if (!li) {
    li = document.createElement('li');
    fileRows.set(key, li);
    $('file-list').append(li);
  }
  const peerName = call.peers().find((p) => p.id === rec.peer)?.name ?? rec.peer;
  const pct = rec.size > 0 ? Math.floor((100 * rec.bytesDone) / rec.size) : 100;
  const arrow = rec.direction === 'out' ? `→ ${peerName}` : `← ${peerName}`;
  li.textContent = `${rec.name} (${(rec.size / 1024).toFixed(0)} KiB) ${arrow}: `;
  const status = document.createElement('span');
  if (!rec.done) status.textContent = `${pct}%`;
  else if (rec.ok) {
    status.className = 'ok';
    status.textContent = rec.direction === 'in' ? 'received, SHA-256 ok ' : 'sent';
  } else {
    status.className = 'bad';
    status.textContent = `failed: ${rec.error ?? ''}`;
  }
  li.append(status);
  if (rec.direction === 'in' && rec.done && rec.ok && rec.data) {
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([rec.data as Uint8Array<ArrayBuffer>]));
    a.download = rec.name;
    a.textContent = 'save';
    li.append(a);
  }
}
call.on('file', renderFile);
$<HTMLInputElement>('file-input').addEventListener('change', async (e) => {
  const input = e.target as HTMLInputElement;
  const file = input.files?.[0];
  if (!file) return;
  await call.sendFile(file.name, new Uint8Array(await file.arrayBuffer()));
  input.value = '';
});

// ---- media controls ----
const muteButtons = { audio: { id: 'btn-mic', label: 'Mic' }, video: { id: 'btn-cam', label: 'Camera' } };
/** Mutes or unmutes (the others are told; the SFU stops forwarding) and shows it on the button. */
function setMuted(kind: 'audio' | 'video', muted: boolean): void {
  call.setMuted(kind, muted);
  const b = muteButtons[kind];
  $(b.id).textContent = `${b.label} ${muted ? 'off' : 'on'}`;
  $(b.id).classList.toggle('off', muted);
}
$('btn-mic').addEventListener('click', () => setMuted('audio', !call.muted.audio));
$('btn-cam').addEventListener('click', () => setMuted('video', !call.muted.video));
$('btn-copy').addEventListener('click', () => {
  const url = `${location.origin}/?room=${encodeURIComponent(room)}`;
  void navigator.clipboard?.writeText(url);
});

// ---- test hooks ----
function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
function fromBase64(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

declare global {
  interface Window {
    rtcstackCall: {
      call: Call;
      ready: Promise<void>;
      snapshot(): CallSnapshot;
      sendChat(text: string): void;
      sendFile(name: string, base64: string): Promise<{ peer: string; ok: boolean }[]>;
      receivedFile(peer: string, name: string): string | null;
      restartIce(): void;
      setMuted(kind: 'audio' | 'video', muted: boolean): void;
      setRecording(on: boolean): void;
    };
  }
}

async function start(): Promise<void> {
  if (wantMedia && navigator.mediaDevices?.getUserMedia) {
    let stream: MediaStream | undefined;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: true,
        video: { width: videoW, height: videoH, ...(fps > 0 ? { frameRate: fps } : {}) },
      });
    } catch {
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      } catch {
        stream = undefined;
      }
    }
    if (stream) {
      call.setLocalStream(stream);
      $<HTMLVideoElement>('local-video').srcObject = stream;
    }
  }
  await call.join();
}

window.rtcstackCall = {
  call,
  ready: start(),
  snapshot: () => call.snapshot(),
  sendChat: (text) => {
    call.sendChat(text);
  },
  sendFile: async (name, base64) => {
    const recs = await call.sendFile(name, fromBase64(base64));
    return recs.map((r) => ({ peer: r.peer, ok: r.ok === true }));
  },
  receivedFile: (peer, name) => {
    for (const f of call.files.values()) {
      if (f.direction === 'in' && f.peer === peer && f.name === name && f.done && f.data)
        return toBase64(f.data);
    }
    return null;
  },
  restartIce: () => call.restartIce(),
  setMuted,
  setRecording: (on) => call.setRecording(on),
};
// Closing or leaving the page leaves the room at once: the others see us go now, not when the
// server's resume window for a silent connection runs out (and a reload is not a second peer).
addEventListener('pagehide', () => call.leave());
window.rtcstackCall.ready.catch((err: Error) => {
  const el = $('error');
  el.hidden = false;
  el.textContent = err.message;
});
