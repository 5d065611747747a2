/**
 * Janus (Debian package `janus`) for bench/sfu-live.ts: a child process with a generated config
 * folder (VideoRoom plugin and the WebSocket transport only, on 127.0.0.1; ICE on loopback only,
 * no STUN, no IPv6, no mDNS), and a small client of its JSON API over WebSocket (one session,
 * one plugin handle per participant; RFC-free: Janus's own protocol, "janus-protocol").
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';

export const JANUS_BIN = '/usr/bin/janus';
const LIB = '/usr/lib/x86_64-linux-gnu/janus';

/** A free TCP port on loopback (bound, read, released). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * Kill `child` (by its PID) if this process exits first (an exception mid-run): a bench must not
 * leave an SFU behind. Returns the function that drops this guard once the child is stopped.
 */
export function killOnExit(child: ChildProcess): () => void {
  const kill = (): void => {
    if (child.pid && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
  };
  process.on('exit', kill);
  return () => process.off('exit', kill);
}

export interface JanusProcess {
  readonly pid: number;
  readonly wsUrl: string;
  stop(): Promise<void>;
}

/** Starts Janus with a fresh config folder; resolves once its WebSocket transport accepts. */
export async function startJanus(o: { eventLoops?: number; logFile?: string } = {}): Promise<JanusProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'rtcs-janus-'));
  const port = await freePort();
  const loops = o.eventLoops ? `\tevent_loops = ${o.eventLoops}\n` : '';
  writeFileSync(
    join(dir, 'janus.jcfg'),
    `general: {
\tconfigs_folder = "${dir}"
\tplugins_folder = "${LIB}/plugins"
\ttransports_folder = "${LIB}/transports"
\tevents_folder = "${LIB}/events"
\tloggers_folder = "${LIB}/loggers"
\tdebug_level = 3
\tsession_timeout = 0
\tadmin_secret = "rtcs-bench"
${loops}}
certificates: {
}
media: {
\tipv6 = false
\trtp_port_range = "40000-60000"
}
nat: {
\tnice_debug = false
\tfull_trickle = true
\tignore_mdns = true
\tice_enforce_list = "127.0.0.1"
}
plugins: {
\tdisable = "libjanus_audiobridge.so,libjanus_duktape.so,libjanus_echotest.so,libjanus_lua.so,libjanus_nosip.so,libjanus_recordplay.so,libjanus_sip.so,libjanus_streaming.so,libjanus_textroom.so,libjanus_videocall.so,libjanus_voicemail.so"
}
transports: {
\tdisable = "libjanus_http.so,libjanus_mqtt.so,libjanus_nanomsg.so,libjanus_pfunix.so,libjanus_rabbitmq.so"
}
loggers: {
\tdisable = "libjanus_jsonlog.so"
}
events: {
\tbroadcast = false
\tdisable = "libjanus_gelfevh.so,libjanus_mqttevh.so,libjanus_nanomsgevh.so,libjanus_rabbitmqevh.so,libjanus_sampleevh.so,libjanus_wsevh.so"
}
`,
  );
  writeFileSync(
    join(dir, 'janus.transport.websockets.jcfg'),
    `general: {
\tjson = "plain"
\tws = true
\tws_port = ${port}
\tws_ip = "127.0.0.1"
\twss = false
}
admin: {
\tadmin_ws = false
\tadmin_wss = false
}
`,
  );
  writeFileSync(join(dir, 'janus.plugin.videoroom.jcfg'), 'general: {\n}\n');
  const log: string[] = [];
  const child: ChildProcess = spawn(JANUS_BIN, ['-F', dir, '-C', join(dir, 'janus.jcfg'), '-o'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const file = o.logFile ? createWriteStream(o.logFile, { flags: 'a' }) : undefined;
  const keep = (d: Buffer): void => {
    file?.write(d);
    log.push(d.toString());
    if (log.length > 200) log.splice(0, 100);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const unguard = killOnExit(child);
  const cleanup = (): void => {
    unguard();
    file?.end();
    rmSync(dir, { recursive: true, force: true });
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      process.kill(child.pid, 'SIGTERM');
      const t = setTimeout(
        () => child.pid && child.exitCode === null && process.kill(child.pid, 'SIGKILL'),
        5000,
      );
      await exited;
      clearTimeout(t);
    }
    cleanup();
  };
  const wsUrl = `ws://127.0.0.1:${port}`;
  const end = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) {
      cleanup();
      throw new Error(`janus exited (${child.exitCode}):\n${log.join('').slice(-3000)}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const ws = new WebSocket(wsUrl, 'janus-protocol');
      ws.once('open', () => {
        ws.close();
        resolve(true);
      });
      ws.once('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > end) {
      await stop();
      throw new Error(`janus did not listen on ${wsUrl}:\n${log.join('').slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { pid: child.pid!, wsUrl, stop };
}

export const janusAvailable = (): boolean => existsSync(JANUS_BIN);

// biome-ignore lint/suspicious/noExplicitAny: Janus's JSON API replies, read field by field
type Json = any;

export interface JanusHandle {
  readonly id: number;
  /** A plugin request; resolves with the plugin's event (and its jsep) for this transaction. */
  request(
    body: Json,
    jsep?: { type: string; sdp: string; rid_order?: string },
  ): Promise<{ data: Json; jsep?: Json }>;
  trickle(
    candidate: { candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null } | null,
  ): void;
  /** Janus's own trickled candidates. */
  oncandidate:
    | ((c: { candidate: string; sdpMid?: string; sdpMLineIndex?: number } | null) => void)
    | undefined;
}

/** One Janus session over one WebSocket; handles attached to the VideoRoom plugin. */
export class JanusSession {
  #ws: WebSocket;
  #session = 0;
  #tx = 0;
  readonly #pending = new Map<
    string,
    { resolve: (m: Json) => void; reject: (e: Error) => void; async: boolean }
  >();
  readonly #handles = new Map<number, JanusHandle>();

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('message', (raw) => this.#onMessage(JSON.parse(raw.toString())));
  }

  static async open(url: string): Promise<JanusSession> {
    const ws = new WebSocket(url, 'janus-protocol');
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const s = new JanusSession(ws);
    const r = await s.#send({ janus: 'create' }, false);
    s.#session = r.data.id;
    return s;
  }

  #onMessage(m: Json): void {
    if (m.janus === 'trickle') {
      const h = this.#handles.get(m.sender);
      const c = m.candidate;
      h?.oncandidate?.(!c || c.completed ? null : c);
      return;
    }
    if (m.janus === 'ack') return;
    const p = m.transaction ? this.#pending.get(m.transaction) : undefined;
    if (!p) return;
    if (m.janus === 'error') {
      this.#pending.delete(m.transaction);
      p.reject(new Error(`janus error ${m.error?.code}: ${m.error?.reason}`));
      return;
    }
    if (p.async && m.janus !== 'event') return;
    this.#pending.delete(m.transaction);
    const err = m.plugindata?.data?.error;
    if (err) p.reject(new Error(`janus videoroom error ${m.plugindata.data.error_code}: ${err}`));
    else p.resolve(m);
  }

  #send(msg: Json, async: boolean): Promise<Json> {
    const transaction = `t${++this.#tx}`;
    return new Promise((resolve, reject) => {
      this.#pending.set(transaction, { resolve, reject, async });
      this.#ws.send(
        JSON.stringify({ ...msg, transaction, ...(this.#session ? { session_id: this.#session } : {}) }),
      );
    });
  }

  async attach(): Promise<JanusHandle> {
    const r = await this.#send({ janus: 'attach', plugin: 'janus.plugin.videoroom' }, false);
    const id: number = r.data.id;
    const handle: JanusHandle = {
      id,
      request: async (body, jsep) => {
        const m = await this.#send(
          { janus: 'message', handle_id: id, body, ...(jsep ? { jsep } : {}) },
          true,
        );
        return { data: m.plugindata?.data, jsep: m.jsep };
      },
      trickle: (candidate) => {
        this.#ws.send(
          JSON.stringify({
            janus: 'trickle',
            session_id: this.#session,
            handle_id: id,
            transaction: `t${++this.#tx}`,
            candidate: candidate ?? { completed: true },
          }),
        );
      },
      oncandidate: undefined,
    };
    this.#handles.set(id, handle);
    return handle;
  }

  /** A synchronous plugin request (create/destroy room): the plugin answers in the 'success'. */
  async sync(handle: JanusHandle, body: Json): Promise<Json> {
    const m = await this.#send({ janus: 'message', handle_id: handle.id, body }, false);
    const data = m.plugindata?.data;
    if (data?.error) throw new Error(`janus videoroom error ${data.error_code}: ${data.error}`);
    return data;
  }

  close(): void {
    for (const p of this.#pending.values()) p.reject(new Error('janus session closed'));
    this.#pending.clear();
    this.#ws.close();
  }
}
