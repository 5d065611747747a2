/**
 * The dashboard's SFU section: rooms in SFU mode, publishers and subscribers, forwarded bitrate,
 * per subscriber its bandwidth estimate and the layer it gets of each publisher's video, and the
 * datagrams its connections dropped by reason.
 */
import type { DashboardData } from '../src/server/http/http-server.js';

const $ = (id: string): HTMLElement | null => document.getElementById(id);

let last: { at: number; bytes: number } | undefined;

function cell(row: HTMLTableRowElement, value: string): void {
  row.insertCell().textContent = value;
}

const kbps = (bps: number): string => `${Math.round(bps / 1000)}`;

/** Datagrams the SFU's connections dropped: the total and the reasons that occurred. */
function droppedText(dropped: Record<string, number>): string {
  const seen = Object.entries(dropped).filter(([, n]) => n > 0);
  const total = seen.reduce((a, [, n]) => a + n, 0);
  return `${total} datagrams dropped${seen.length ? ` (${seen.map(([r, n]) => `${r} ${n}`).join(', ')})` : ''}`;
}

export function renderSfu(d: DashboardData): void {
  const card = $('k-sfu');
  const sub = $('k-sfu-sub');
  const panel = $('sfu-panel');
  const box = $('sfu');
  if (!card || !sub || !panel || !box) return;
  const f = d.sfu;
  if (!f) {
    card.textContent = 'off';
    sub.textContent = 'no SFU in this process';
    panel.hidden = true;
    return;
  }
  const prev = last;
  last = { at: d.time, bytes: f.totals.forwardedBytes };
  const mbps =
    prev && d.time > prev.at ? ((f.totals.forwardedBytes - prev.bytes) * 8) / 1000 / (d.time - prev.at) : 0;
  card.textContent = `${f.rooms.length} room${f.rooms.length === 1 ? '' : 's'}`;
  sub.textContent = `${f.publishers} publishers, ${f.subscribers} subscribers; ${mbps.toFixed(2)} Mbps forwarded; ${f.totals.layerSwitches} layer switches, ${f.totals.nacks} NACKs, ${f.totals.plis} PLIs; ${droppedText(f.dropped)}`;
  panel.hidden = f.rooms.length === 0;
  box.replaceChildren();
  const names = new Map(d.rooms.flatMap((r) => r.peers.map((p) => [p.id, p.name] as const)));
  const name = (id: string): string => names.get(id) ?? id;
  for (const r of f.rooms) {
    const title = document.createElement('div');
    title.className = 'room-title';
    title.textContent = `${r.name} · SFU · ${r.participants.length} participants${r.activeSpeaker ? ` · speaking: ${name(r.activeSpeaker)}` : ''}`;
    const table = document.createElement('table');
    table.className = 'sfu-table';
    const head = table.createTHead().insertRow();
    for (const h of [
      'subscriber',
      'publishes',
      'estimate kbps',
      'source',
      'forwarded kbps',
      'video layers',
      'NACKs',
      'PLIs',
    ]) {
      const th = document.createElement('th');
      th.textContent = h;
      head.append(th);
    }
    const body = table.createTBody();
    for (const p of r.participants) {
      const row = body.insertRow();
      row.dataset.peer = p.id;
      cell(row, name(p.id));
      cell(row, String(p.publishedTracks));
      cell(row, kbps(p.estimatedBandwidth));
      cell(row, p.estimateSource);
      cell(row, kbps(p.forwardedBitrate));
      cell(
        row,
        p.videoLayers
          .map(
            (l) =>
              `${name(l.publisher)}: ${
                l.svc
                  ? `${l.svc.spatial < 0 ? 'paused' : `S${l.svc.spatial}T${l.svc.temporal}`}${l.svc.targetSpatial !== l.svc.spatial || l.svc.targetTemporal !== l.svc.temporal ? `→${l.svc.targetSpatial < 0 ? 'paused' : `S${l.svc.targetSpatial}T${l.svc.targetTemporal}`}` : ''}`
                  : `${l.layer < 0 ? 'paused' : (l.rid ?? `L${l.layer}`)}${l.target !== l.layer ? `→${l.target < 0 ? 'paused' : `L${l.target}`}` : ''}`
              }`,
          )
          .join(', ') || '-',
      );
      cell(row, String(p.nacksReceived));
      cell(row, String(p.plisReceived));
    }
    box.append(title, table);
  }
}
