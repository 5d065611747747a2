/**
 * TURN over TLS (RFC 8656 §3.1; port 5349, or 443 to get through corporate firewalls). The TLS
 * layer wraps any `TcpConnection` of the `Network` interface, so TLS runs on the virtual network
 * as well as on real sockets. Without a configured certificate, a self-signed ECDSA P-256 one is
 * generated at start (clients such as browsers do not verify TURN server certificates against a
 * name the way HTTPS does; deploy a real one for clients that do).
 */
// @peculiar/x509 needs the Reflect metadata polyfill loaded before it.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { TcpConnection, TcpListener } from '../../core/net.js';

export interface PemPair {
  readonly cert: string;
  readonly key: string;
}

/** A fresh self-signed certificate and key (PEM), valid for `days` (default 365). */
export async function generateSelfSigned(commonName = 'rtcstack-turn', days = 365): Promise<PemPair> {
  const x509 = await import('@peculiar/x509');
  const crypto = webcrypto as unknown as Crypto;
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const serial = new Uint8Array(16);
  crypto.getRandomValues(serial);
  serial[0] = serial[0]! & 0x7f;
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: Buffer.from(serial).toString('hex'),
      name: `CN=${commonName}`,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + days * 86_400_000),
      signingAlgorithm: alg,
      keys,
      extensions: [new x509.BasicConstraintsExtension(false, undefined, true)],
    },
    crypto,
  );
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
  const b64 = Buffer.from(pkcs8)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n');
  return {
    cert: cert.toString('pem'),
    key: `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`,
  };
}

export function createSecureContext(pem: PemPair): tls.SecureContext {
  return tls.createSecureContext({ cert: pem.cert, key: pem.key });
}

/** Run a TLS server session over `raw`; the result speaks plaintext. */
export function wrapTlsServer(raw: TcpConnection, context: tls.SecureContext): TcpConnection {
  const duplex = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      raw.write(chunk);
      cb();
    },
    final(cb) {
      raw.close();
      cb();
    },
  });
  const sock = new tls.TLSSocket(duplex as unknown as Socket, {
    isServer: true,
    secureContext: context,
  });
  (sock as unknown as { _writev: unknown })._writev = null; // one record per message, as below
  let closed = false;
  const conn: TcpConnection = {
    local: raw.local,
    remote: raw.remote,
    get closed() {
      return closed;
    },
    onData: null,
    onClose: null,
    write: (data) => (closed ? false : sock.write(data)),
    close: () => {
      if (closed) return;
      sock.destroy();
      raw.close();
      finish();
    },
  };
  let finished = false;
  const finish = (err?: Error): void => {
    closed = true;
    if (finished) return;
    finished = true;
    conn.onClose?.(err);
  };
  raw.onData = (d) => duplex.push(d);
  raw.onClose = () => {
    duplex.push(null);
    sock.destroy();
    finish();
  };
  sock.on('data', (d: Buffer) => conn.onData?.(d));
  sock.on('error', (e) => {
    raw.close();
    finish(e);
  });
  sock.on('close', () => {
    raw.close();
    finish();
  });
  return conn;
}

/** A TLS socket as a `TcpConnection` (plaintext side). */
function tlsConnection(sock: tls.TLSSocket): TcpConnection {
  sock.setNoDelay(true);
  // One TLS record per TURN message: writes queued in one tick would otherwise be merged into a
  // single record by writev, and some clients (coturn's uclient) read one message per record.
  (sock as unknown as { _writev: unknown })._writev = null;
  let closed = false;
  let lastError: Error | undefined;
  const conn: TcpConnection = {
    local: { address: sock.localAddress ?? '', port: sock.localPort ?? 0 },
    remote: { address: sock.remoteAddress ?? '', port: sock.remotePort ?? 0 },
    get closed() {
      return closed;
    },
    onData: null,
    onClose: null,
    write: (data) => (closed ? false : sock.write(data)),
    close: () => {
      if (closed) return;
      closed = true;
      sock.destroy();
    },
  };
  sock.on('data', (d: Buffer) => conn.onData?.(d));
  sock.on('error', (e) => {
    lastError = e;
  });
  sock.on('close', () => {
    closed = true;
    conn.onClose?.(lastError);
  });
  return conn;
}

/**
 * A TLS listener on real sockets (node:tls over the kernel's TCP, no JS stream in between): used
 * when the server runs on the real network; `wrapTlsServer` covers other `Network`s.
 */
export function listenTlsNode(address: string, port: number, pem: PemPair): Promise<TcpListener> {
  const server = tls.createServer({ cert: pem.cert, key: pem.key });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address, port }, () => {
      server.off('error', reject);
      const a = server.address() as { address: string; port: number };
      const listener: TcpListener = {
        local: { address: a.address, port: a.port },
        onConnection: null,
        close: () => server.close(),
      };
      server.on('secureConnection', (s) => {
        if (listener.onConnection) listener.onConnection(tlsConnection(s));
        else s.destroy();
      });
      // Handshake failures and garbage before the handshake: drop the connection quietly.
      server.on('tlsClientError', (_e, s) => s.destroy());
      resolve(listener);
    });
  });
}
