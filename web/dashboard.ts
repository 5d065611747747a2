/**
 * The operator dashboard: polls /api/stats every 2 s and shows rooms, peers, the share of links by
 * path type (a high relay share means NAT trouble and TURN cost), RTTs, TURN figures with a cost
 * estimate, and small live plots of the last few minutes.
 */
import type { DashboardData } from '../src/server/http/http-server.js';
import { renderSfu } from './dashboard-sfu.js';

const POLL_MS = 2000;
const HISTORY = 150;
const COLORS: Record<string, string> = {
  host: '#2ea043',
  srflx: '#d29922',
  prflx: '#a371f7',
  relay: '#f85149',
};

const $ = (id: string): HTMLElement => document.getElementById(id)!;
const history: { peers: number; relay: number; rtt: number }[] = [];
let lastTurn: { at: number; bytes: number } | undefined;

function text(id: string, value: string): void {
  $(id).textContent = value;
}

function plot(id: string, values: number[], color: string, fixedMax?: number): void {
  const canvas = $(id) as HTMLCanvasElement;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const { width: w, height: h } = canvas;
  ctx.clearRect(0, 0, w, h);
  ctx.strokeStyle = '#27313d';
  ctx.lineWidth = 1;
  for (let i = 1; i < 4; i++) {
    ctx.beginPath();
    ctx.moveTo(0, (h * i) / 4);
    ctx.lineTo(w, (h * i) / 4);
    ctx.stroke();
  }
  const max = fixedMax ?? Math.max(1, ...values) * 1.2;
  ctx.fillStyle = '#8b98a5';
  ctx.font = '11px system-ui';
  ctx.fillText(max.toFixed(max < 10 ? 1 : 0), 4, 12);
  if (values.length < 2) return;
  ctx.strokeStyle = color;
  ctx.lineWidth = 2;
  ctx.beginPath();
  values.forEach((v, i) => {
    const x = (i / (HISTORY - 1)) * w;
    const y = h - (v / max) * (h - 4) - 2;
    if (i === 0) ctx.moveTo(x, y);
    else ctx.lineTo(x, y);
  });
  ctx.stroke();
}

function cell(row: HTMLTableRowElement, value: string, color?: string): void {
  const td = row.insertCell();
  td.textContent = value;
  if (color) td.style.color = color;
}

function render(d: DashboardData): void {
  const t = d.totals;
  text('k-rooms', String(t.rooms));
  text('k-peers', String(t.peers));
  text('k-links', String(t.links));
  const relayPct = d.paths.total > 0 ? Math.round(d.paths.relayShare * 100) : null;
  text('k-relay', relayPct === null ? '-' : `${relayPct}%`);
  text(
    'k-relay-sub',
    d.paths.total > 0 ? `${d.paths.counts.relay} of ${d.paths.total} links via TURN` : 'no connected links',
  );
  $('k-relay').style.color =
    relayPct === null ? '' : relayPct >= 50 ? COLORS.relay! : relayPct > 15 ? COLORS.srflx! : COLORS.host!;
  text('k-rtt', t.avgRttMs === null ? '-' : `${t.avgRttMs.toFixed(1)} ms`);
  if (d.turn) {
    const prev = lastTurn;
    lastTurn = { at: d.time, bytes: d.turn.relayedBytes };
    const mbps =
      prev && d.time > prev.at ? ((d.turn.relayedBytes - prev.bytes) * 8) / 1000 / (d.time - prev.at) : 0;
    text('k-turn', `${d.turn.allocations} alloc`);
    text(
      'k-turn-sub',
      `${mbps.toFixed(2)} Mbps now; ${(d.turn.relayedBytes / 1e6).toFixed(1)} MB relayed ≈ $${d.turn.costUsd.toFixed(4)} at $${d.turn.costPerGb}/GB`,
    );
  } else {
    text('k-turn', 'off');
    text('k-turn-sub', 'no TURN server in this process');
  }

  const bar = $('path-bar');
  bar.replaceChildren();
  const legend = $('path-legend');
  legend.replaceChildren();
  for (const [type, n] of Object.entries(d.paths.counts)) {
    const pct = d.paths.total > 0 ? (100 * n) / d.paths.total : 0;
    if (pct > 0) {
      const seg = document.createElement('div');
      seg.style.width = `${pct}%`;
      seg.style.background = COLORS[type] ?? '#444';
      seg.textContent = `${type} ${Math.round(pct)}%`;
      bar.append(seg);
    }
    const item = document.createElement('span');
    item.innerHTML = `<span style="color:${COLORS[type]}">■</span> `;
    item.append(`${type}: ${n}`);
    legend.append(item);
  }

  history.push({ peers: t.peers, relay: relayPct ?? 0, rtt: t.avgRttMs ?? 0 });
  if (history.length > HISTORY) history.shift();
  plot(
    'plot-peers',
    history.map((h) => h.peers),
    '#3d8bfd',
  );
  plot(
    'plot-relay',
    history.map((h) => h.relay),
    COLORS.relay!,
    100,
  );
  plot(
    'plot-rtt',
    history.map((h) => h.rtt),
    '#d29922',
  );

  const rooms = $('rooms');
  rooms.replaceChildren();
  if (d.rooms.length === 0) rooms.textContent = 'No rooms.';
  for (const r of d.rooms) {
    const title = document.createElement('div');
    title.className = 'room-title';
    title.textContent = `${r.name} · ${r.peers.length} peer${r.peers.length === 1 ? '' : 's'}`;
    const table = document.createElement('table');
    const head = table.createTHead().insertRow();
    for (const h of [
      'from',
      'to',
      'state',
      'path',
      'local/remote',
      'RTT',
      'in kbps',
      'out kbps',
      'loss',
      'frames',
    ]) {
      const th = document.createElement('th');
      th.textContent = h;
      head.append(th);
    }
    const names = new Map(r.peers.map((p) => [p.id, `${p.name}${p.connected ? '' : ' (away)'}`]));
    const body = table.createTBody();
    for (const l of r.links) {
      const row = body.insertRow();
      cell(row, names.get(l.from) ?? l.from);
      cell(row, names.get(l.peerId) ?? l.peerId);
      cell(row, l.connectionState);
      cell(row, l.pathType ?? '-', l.pathType ? COLORS[l.pathType] : undefined);
      cell(row, `${l.localCandidateType ?? '-'}/${l.remoteCandidateType ?? '-'}`);
      cell(row, l.rttMs === null ? '-' : `${l.rttMs.toFixed(1)} ms`);
      cell(row, String(l.bitrateInKbps));
      cell(row, String(l.bitrateOutKbps));
      cell(row, `${(l.packetLoss * 100).toFixed(1)}%`);
      cell(row, String(l.framesDecoded));
    }
    if (r.links.length === 0) {
      const row = body.insertRow();
      cell(row, r.peers.map((p) => names.get(p.id)).join(', '));
      cell(row, 'no link reports yet');
    }
    rooms.append(title, table);
  }
  renderSfu(d);
  const up = $('updated');
  up.textContent = `updated ${new Date(d.time).toLocaleTimeString()}`;
  up.className = 'pill ok';
}

async function poll(): Promise<void> {
  try {
    const res = await fetch('/api/stats', { cache: 'no-store' });
    render((await res.json()) as DashboardData);
  } catch (err) {
    const up = $('updated');
    up.textContent = `server unreachable (${(err as Error).message})`;
    up.className = 'pill warn';
  }
}

void poll();
setInterval(() => void poll(), POLL_MS);
(window as unknown as { rtcstackDashboard: { poll: () => Promise<void> } }).rtcstackDashboard = { poll };
