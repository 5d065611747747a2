/**
 * `rtcstack serve` over HTTPS/WSS: a generated self-signed certificate or a given one, the same
 * routes and signaling as plain HTTP, config errors for half or unreadable TLS settings, and a
 * Chromium page that loads the call page from https:// (a secure context) and joins over wss://.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import WebSocket from 'ws';
import { SystemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/log.js';
import { ConfigError, resolveConfig } from '../../src/server/config.js';
import { type ServeHandle, startServe } from '../../src/server/serve.js';
import { generateSelfSigned } from '../../src/server/turn/tls.js';
import { launchChromium } from '../helpers/chromium.js';
import { needs, PREREQS } from '../helpers/prereq.js';
import { testConfig } from './helpers.js';

/** GET over HTTPS accepting any certificate; returns status, body and the server's certificate CN. */
function httpsGet(url: string): Promise<{ status: number; body: string; cn: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { rejectUnauthorized: false }, (res) => {
      const cert = (res.socket as TLSSocket).getPeerCertificate();
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => {
        const cn = cert.subject?.CN;
        resolve({ status: res.statusCode ?? 0, body, cn: Array.isArray(cn) ? cn[0] : cn });
      });
    });
    req.on('error', reject);
  });
}

/** Opens a WSS signaling socket (any certificate) and returns the first frame after `join`. */
function joinOverWss(wsUrl: string, room: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, { rejectUnauthorized: false });
    ws.on('open', () => ws.send(JSON.stringify({ v: 1, type: 'join', room, name: 'tls' })));
    ws.on('message', (data) => {
      resolve(JSON.parse(String(data)) as Record<string, unknown>);
      ws.close();
    });
    ws.on('error', reject);
  });
}

async function start(over: Parameters<typeof testConfig>[0]): Promise<ServeHandle> {
  return startServe(testConfig({ https: true, httpsPort: 0, ...over }), {
    clock: new SystemClock(),
    log: silentLogger,
  });
}

test('https: a generated certificate serves the same routes and signaling as http', async () => {
  const srv = await start({});
  try {
    assert.ok(srv.httpsUrl?.startsWith('https://127.0.0.1:'), srv.httpsUrl);
    assert.notEqual(srv.httpsPort, srv.port);
    const health = await httpsGet(`${srv.httpsUrl}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(JSON.parse(health.body), { ok: true });
    assert.equal(health.cn, '127.0.0.1', 'self-signed for the bound host');
    const page = await httpsGet(`${srv.httpsUrl}/`);
    assert.equal(page.status, 200);
    assert.match(page.body, /<html/i);
    const welcome = await joinOverWss(`wss://127.0.0.1:${srv.httpsPort}/ws`, 'secure');
    assert.equal(welcome.type, 'welcome');
    assert.equal(welcome.room, 'secure');
    // Plain HTTP keeps working beside it.
    assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
  } finally {
    await srv.close();
  }
});

test('https: a given certificate and key are used; half or unreadable TLS settings are config errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtcs-tls-'));
  try {
    const pem = await generateSelfSigned('calls.example.test');
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    writeFileSync(cert, pem.cert);
    writeFileSync(key, pem.key);
    const srv = await start({ tlsCert: cert, tlsKey: key });
    try {
      const health = await httpsGet(`${srv.httpsUrl}/healthz`);
      assert.equal(health.status, 200);
      assert.equal(health.cn, 'calls.example.test');
    } finally {
      await srv.close();
    }

    const parsed = resolveConfig({
      argv: ['--https', '--https-port', '0', '--tls-cert', cert, '--tls-key', key],
    });
    assert.ok(!parsed.help && parsed.config.https === true && parsed.config.httpsPort === 0);
    const problems = (argv: string[]): string => {
      try {
        resolveConfig({ argv });
      } catch (err) {
        assert.ok(err instanceof ConfigError);
        return err.message;
      }
      return '';
    };
    assert.match(problems(['--tls-cert', cert]), /--tls-cert and --tls-key go together/);
    assert.match(problems(['--tls-cert', join(dir, 'nope.pem'), '--tls-key', key]), /cannot read \(ENOENT\)/);
    writeFileSync(join(dir, 'junk.pem'), 'not a certificate');
    assert.match(problems(['--tls-cert', join(dir, 'junk.pem'), '--tls-key', key]), /not a PEM file/);
    assert.match(problems(['--https-port', '70000']), /port number/);
    // Defaults: HTTPS only where it is needed (a non-loopback address).
    const local = resolveConfig({ argv: [] });
    assert.ok(!local.help && local.config.https === false);
    const lan = resolveConfig({ argv: ['--host', '0.0.0.0'] });
    assert.ok(!lan.help && lan.config.https === true && lan.config.httpsPort === 8443);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('https: Chromium loads the call page as a secure context and joins over wss', {
  ...needs(PREREQS.chromium),
  timeout: 300_000,
}, async () => {
  const srv = await start({});
  const browser = await launchChromium({
    args: ['--ignore-certificate-errors'],
    allow: ['https://127.0.0.1', 'wss://127.0.0.1'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`${srv.httpsUrl}/?room=tls&name=ann&video=160x120&fps=5`);
    await page.evaluate(() => window.rtcstackCall.ready);
    assert.equal(await page.evaluate(() => window.isSecureContext), true);
    const snap = await page.evaluate(() => window.rtcstackCall.snapshot());
    assert.equal(snap.signalingState, 'joined');
    assert.equal(snap.room, 'tls');
    assert.equal(srv.signaling.rooms().find((r) => r.name === 'tls')?.peers.length, 1);
    assert.deepEqual(browser.blocked, []);
  } finally {
    await browser.close();
    await srv.close();
  }
});
