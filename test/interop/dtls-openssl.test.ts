/**
 * DTLS 1.2 against OpenSSL's CLI over real UDP on 127.0.0.1: both roles, every cipher suite we
 * share with OpenSSL, data both ways, use_srtp profile negotiation and the RFC 5705 exporter output
 * compared byte for byte with `-keymatexport EXTRACTOR-dtls_srtp`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { UdpSocket } from '../../src/core/net.js';
import { NodeNetwork } from '../../src/core/net-node.js';
import { SeededRandom } from '../../src/core/random.js';
import { type DtlsCertificate, fingerprintOf, generateCertificate } from '../../src/dtls/certificate.js';
import { CIPHER_SUITES } from '../../src/dtls/cipher-suites.js';
import type { SrtpProfileName } from '../../src/dtls/srtp-profiles.js';
import { DtlsTransport } from '../../src/dtls/transport.js';
import { needs, PREREQS } from '../helpers/prereq.js';
import { waitFor } from '../helpers/wait.js';
import {
  type CertFiles,
  OPENSSL_CIPHERS,
  OPENSSL_SRTP,
  type OpensslProcess,
  opensslClient,
  opensslServer,
  writeCertFiles,
} from './dtls-openssl-helpers.js';

const net = new NodeNetwork();
const enc = new TextEncoder();
let ours: DtlsCertificate;
let theirEc: DtlsCertificate;
let theirRsa: DtlsCertificate;
let ecFiles: CertFiles;
let rsaFiles: CertFiles;

const opts = needs(PREREQS.openssl);

async function freePort(): Promise<number> {
  const s = await net.bindUdp({ address: '127.0.0.1' });
  const port = s.local.port;
  s.close();
  return port;
}

function waitData(t: DtlsTransport, re: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(
      () => reject(new Error(`no data matching ${re}; got ${JSON.stringify(buf)}`)),
      10_000,
    );
    t.on('data', (d) => {
      buf += Buffer.from(d).toString();
      if (re.test(buf)) {
        clearTimeout(timer);
        resolve(buf);
      }
    });
  });
}

interface Case {
  readonly suite: (typeof CIPHER_SUITES)[number];
  readonly srtp: SrtpProfileName;
}

const SRTP_CYCLE: SrtpProfileName[] = [
  'SRTP_AES128_CM_HMAC_SHA1_80',
  'SRTP_AEAD_AES_128_GCM',
  'SRTP_AES128_CM_HMAC_SHA1_32',
  'SRTP_AEAD_AES_256_GCM',
];
const CASES: Case[] = CIPHER_SUITES.map((suite, i) => ({ suite, srtp: SRTP_CYCLE[i % SRTP_CYCLE.length]! }));

async function exercise(t: DtlsTransport, peer: OpensslProcess, c: Case): Promise<void> {
  await t.connected();
  assert.equal(t.endpoint.cipherSuite, c.suite.name);
  assert.equal(t.endpoint.srtpProfile, c.srtp);
  await peer.waitFor(new RegExp(`CIPHER is ${OPENSSL_CIPHERS[c.suite.name]}`, 'i'));
  await peer.waitFor(new RegExp(`SRTP Extension negotiated, profile=${OPENSSL_SRTP[c.srtp]}`));
  const km = await peer.waitFor(/Keying material: ([0-9A-F]+)/);
  const ourKm = Buffer.from(t.endpoint.exportKeyingMaterial('EXTRACTOR-dtls_srtp', 60))
    .toString('hex')
    .toUpperCase();
  assert.equal(ourKm, km[1], "exported keying material equals OpenSSL's");
  t.send(enc.encode('from rtcstack\n'));
  await peer.waitFor(/from rtcstack/);
  const back = waitData(t, /from openssl/);
  peer.write('from openssl\n');
  await back;
}

describe('DTLS 1.2 interop with openssl', opts, () => {
  before(async () => {
    [ours, theirEc, theirRsa] = await Promise.all([
      generateCertificate(),
      generateCertificate(),
      generateCertificate({ name: 'RSASSA-PKCS1-v1_5' }),
    ]);
    ecFiles = writeCertFiles(theirEc);
    rsaFiles = writeCertFiles(theirRsa);
  });
  after(() => {
    ecFiles?.cleanup();
    rsaFiles?.cleanup();
  });

  for (const c of CASES) {
    test(`rtcstack client -> openssl s_server: ${c.suite.name}, ${c.srtp}`, async () => {
      const files = c.suite.auth === 'rsa' ? rsaFiles : ecFiles;
      const theirs = c.suite.auth === 'rsa' ? theirRsa : theirEc;
      const port = await freePort();
      const server = opensslServer(port, files, [
        '-Verify',
        '1',
        '-cipher',
        OPENSSL_CIPHERS[c.suite.name]!,
        '-use_srtp',
        OPENSSL_SRTP[c.srtp]!,
        '-keymatexport',
        'EXTRACTOR-dtls_srtp',
        '-keymatexportlen',
        '60',
      ]);
      let sock: UdpSocket | undefined;
      let t: DtlsTransport | undefined;
      try {
        await server.waitFor(/ACCEPT/);
        sock = await net.bindUdp({ address: '127.0.0.1' });
        t = new DtlsTransport(
          sock,
          { address: '127.0.0.1', port },
          {
            role: 'client',
            certificate: ours,
            remoteFingerprints: [fingerprintOf(theirs.der)],
            srtpProfiles: SRTP_CYCLE,
          },
        );
        t.start();
        await exercise(t, server, c);
        // OpenSSL checked our client certificate (it was asked for with -Verify).
        assert.match(server.output(), /Client certificate/);
      } finally {
        t?.close();
        sock?.close();
        await server.kill();
      }
    });

    test(`openssl s_client -> rtcstack server: ${c.suite.name}, ${c.srtp}`, async () => {
      const serverCert = c.suite.auth === 'rsa' ? theirRsa : theirEc;
      const sock = await net.bindUdp({ address: '127.0.0.1' });
      // The client's source port is not known before it runs: pick one and bind s_client to it.
      const clientPort = await freePort();
      const t = new DtlsTransport(
        sock,
        { address: '127.0.0.1', port: clientPort },
        {
          role: 'server',
          certificate: serverCert,
          remoteFingerprints: [fingerprintOf(ours.der)],
          srtpProfiles: [c.srtp],
          cipherSuites: [c.suite.id],
        },
      );
      t.start();
      const mine = writeCertFiles(ours);
      const client = opensslClient(sock.local.port, clientPort, mine, [
        '-cipher',
        OPENSSL_CIPHERS[c.suite.name]!,
        '-use_srtp',
        SRTP_CYCLE.map((p) => OPENSSL_SRTP[p]).join(':'),
        '-keymatexport',
        'EXTRACTOR-dtls_srtp',
        '-keymatexportlen',
        '60',
        '-ign_eof',
      ]);
      try {
        await exercise(t, client, c);
        assert.deepEqual(t.getRemoteCertificates()[0], ours.der);
        // close_notify from us reaches OpenSSL.
        t.close();
        await client.waitFor(/DONE|closed|shut down/i).catch(() => undefined);
      } finally {
        t.close();
        sock.close();
        await client.kill();
        mine.cleanup();
      }
    });
  }

  test('rtcstack client offering DTLS 1.3 + 1.2 falls back to 1.2 with openssl s_server (P-256 only)', async () => {
    const port = await freePort();
    const server = opensslServer(port, ecFiles, [
      '-groups',
      'P-256',
      '-keymatexport',
      'EXTRACTOR-dtls_srtp',
      '-keymatexportlen',
      '60',
      '-use_srtp',
      'SRTP_AES128_CM_SHA1_80',
    ]);
    const sock = await net.bindUdp({ address: '127.0.0.1' });
    const t = new DtlsTransport(
      sock,
      { address: '127.0.0.1', port },
      {
        role: 'client',
        certificate: ours,
        remoteFingerprints: [fingerprintOf(theirEc.der)],
        versions: ['1.3', '1.2'],
      },
    );
    try {
      await server.waitFor(/ACCEPT/);
      t.start();
      await t.connected();
      assert.equal(t.endpoint.negotiatedVersion, '1.2');
      const km = await server.waitFor(/Keying material: ([0-9A-F]+)/);
      assert.equal(
        Buffer.from(t.endpoint.exportKeyingMaterial('EXTRACTOR-dtls_srtp', 60)).toString('hex').toUpperCase(),
        km[1],
      );
      t.send(enc.encode('fallback ok\n'));
      await server.waitFor(/fallback ok/);
    } finally {
      t.close();
      sock.close();
      await server.kill();
    }
  });

  test('openssl s_client (P-256, MTU 576) -> rtcstack server offering 1.3 + 1.2 with an RSA certificate: 1.2, fragmented flight', async () => {
    const sock = await net.bindUdp({ address: '127.0.0.1' });
    const clientPort = await freePort();
    let largest = 0;
    const t = new DtlsTransport(
      sock,
      { address: '127.0.0.1', port: clientPort },
      {
        role: 'server',
        certificate: theirRsa,
        remoteFingerprints: [fingerprintOf(ours.der)],
        versions: ['1.3', '1.2'],
        mtu: 576,
      },
    );
    const send = sock.send.bind(sock);
    sock.send = (d, to) => {
      largest = Math.max(largest, d.length);
      return send(d, to);
    };
    t.start();
    const mine = writeCertFiles(ours);
    const client = opensslClient(sock.local.port, clientPort, mine, [
      '-groups',
      'P-256',
      '-mtu',
      '576',
      '-ign_eof',
    ]);
    try {
      await t.connected();
      assert.equal(t.endpoint.negotiatedVersion, '1.2');
      await client.waitFor(/Server Temp Key: ECDH, prime256v1/);
      assert.ok(largest <= 576, `largest datagram ${largest}`);
      const back = waitData(t, /hello server/);
      client.write('hello server\n');
      await back;
    } finally {
      t.close();
      sock.close();
      await client.kill();
      mine.cleanup();
    }
  });

  test('renegotiation from openssl s_client (R command) is refused with no_renegotiation', async () => {
    const sock = await net.bindUdp({ address: '127.0.0.1' });
    const clientPort = await freePort();
    const t = new DtlsTransport(
      sock,
      { address: '127.0.0.1', port: clientPort },
      {
        role: 'server',
        certificate: theirEc,
        remoteFingerprints: [fingerprintOf(ours.der)],
      },
    );
    t.start();
    const mine = writeCertFiles(ours);
    // Without -ign_eof/-quiet, s_client treats a line "R" as its renegotiate command.
    const client = opensslClient(sock.local.port, clientPort, mine);
    try {
      await t.connected();
      client.write('R\n');
      await client.waitFor(/no renegotiation/);
      assert.ok(t.endpoint.stats.ignoredHandshake >= 1);
      // OpenSSL then gives up with a fatal alert of its own; we never fail on our side: the
      // transport fails on that alert, not on an error of its own.
      await waitFor(() => t.state !== 'connected', 'openssl’s alert', 10_000);
      assert.equal(
        (t.endpoint.error as { code?: string } | undefined)?.code,
        'ERR_DTLS_REMOTE_ALERT',
        `state ${t.state}, error ${t.endpoint.error?.message}`,
      );
    } finally {
      t.close();
      sock.close();
      await client.kill();
      mine.cleanup();
    }
  });

  test('through a UDP relay dropping 20% of datagrams both ways: handshake with openssl s_server completes', async () => {
    // Real clocks on both sides: OpenSSL retransmits on its own 1 s timer, we on 250 ms.
    for (const seed of [1, 2, 3]) {
      const port = await freePort();
      const server = opensslServer(port, ecFiles, [
        '-Verify',
        '1',
        '-keymatexport',
        'EXTRACTOR-dtls_srtp',
        '-keymatexportlen',
        '60',
      ]);
      const relay = await net.bindUdp({ address: '127.0.0.1' });
      const sock = await net.bindUdp({ address: '127.0.0.1' });
      const random = new SeededRandom(seed);
      let dropped = 0;
      relay.onMessage = (d, from) => {
        if (random.float() < 0.2) {
          dropped++;
          return;
        }
        if (from.port === port) relay.send(d, sock.local);
        else relay.send(d, { address: '127.0.0.1', port });
      };
      const t = new DtlsTransport(sock, relay.local, {
        role: 'client',
        certificate: ours,
        remoteFingerprints: [fingerprintOf(theirEc.der)],
        initialRetransmitMs: 250,
      });
      try {
        await server.waitFor(/ACCEPT/);
        t.start();
        await t.connected();
        const km = await server.waitFor(/Keying material: ([0-9A-F]+)/, 30_000);
        assert.equal(
          Buffer.from(t.endpoint.exportKeyingMaterial('EXTRACTOR-dtls_srtp', 60))
            .toString('hex')
            .toUpperCase(),
          km[1],
        );
        for (let i = 0; i < 10; i++) t.send(enc.encode(`lossy ${i}\n`));
        await server.waitFor(/lossy \d/);
        console.log(
          `# seed ${seed}: ${dropped} datagrams dropped, ${t.endpoint.stats.retransmits} retransmissions by us`,
        );
      } finally {
        t.close();
        sock.close();
        relay.close();
        await server.kill();
      }
    }
  });

  test('openssl s_server with a certificate that does not match the signaled fingerprint is refused', async () => {
    const port = await freePort();
    const server = opensslServer(port, ecFiles);
    const sock = await net.bindUdp({ address: '127.0.0.1' });
    const t = new DtlsTransport(
      sock,
      { address: '127.0.0.1', port },
      {
        role: 'client',
        certificate: ours,
        remoteFingerprints: [fingerprintOf(theirRsa.der)],
      },
    );
    try {
      await server.waitFor(/ACCEPT/);
      t.start();
      await assert.rejects(t.connected(), { code: 'ERR_DTLS_FINGERPRINT_MISMATCH' });
      assert.equal(t.state, 'failed');
      await server.waitFor(/alert bad certificate|bad certificate/i);
    } finally {
      t.close();
      sock.close();
      await server.kill();
    }
  });
});
