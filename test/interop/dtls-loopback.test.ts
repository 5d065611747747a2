/**
 * Two rtcstack DtlsTransports over real UDP sockets on 127.0.0.1 (system clock, node:dgram):
 * DTLS 1.3 and 1.2, data both ways, identical SRTP keying material, close_notify.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NodeNetwork } from '../../src/core/net-node.js';
import { generateCertificate } from '../../src/dtls/certificate.js';
import type { DtlsVersion } from '../../src/dtls/endpoint.js';
import { DtlsTransport } from '../../src/dtls/transport.js';

const net = new NodeNetwork();

for (const versions of [['1.3', '1.2'], ['1.2']] as DtlsVersion[][]) {
  test(`rtcstack <-> rtcstack over UDP loopback, versions ${versions.join('+')}`, async () => {
    const [ca, cb] = await Promise.all([generateCertificate(), generateCertificate()]);
    const sa = await net.bindUdp({ address: '127.0.0.1' });
    const sb = await net.bindUdp({ address: '127.0.0.1' });
    const a = new DtlsTransport(sa, sb.local, {
      role: 'client',
      certificate: ca,
      remoteFingerprints: cb.getFingerprints(),
      versions,
    });
    const b = new DtlsTransport(sb, sa.local, {
      role: 'server',
      certificate: cb,
      remoteFingerprints: ca.getFingerprints(),
      versions,
    });
    try {
      b.start();
      a.start();
      await Promise.all([a.connected(), b.connected()]);
      assert.equal(a.endpoint.negotiatedVersion, versions[0]);
      assert.deepEqual(a.getSrtpKeyingMaterial(), {
        ...b.getSrtpKeyingMaterial()!,
        localKey: b.getSrtpKeyingMaterial()!.remoteKey,
        localSalt: b.getSrtpKeyingMaterial()!.remoteSalt,
        remoteKey: b.getSrtpKeyingMaterial()!.localKey,
        remoteSalt: b.getSrtpKeyingMaterial()!.localSalt,
      });
      const got = new Promise<string>((resolve) => b.once('data', (d) => resolve(Buffer.from(d).toString())));
      const back = new Promise<string>((resolve) =>
        a.once('data', (d) => resolve(Buffer.from(d).toString())),
      );
      a.send(new TextEncoder().encode('over udp'));
      b.send(new TextEncoder().encode('and back'));
      assert.equal(await got, 'over udp');
      assert.equal(await back, 'and back');
      const closed = new Promise<void>((resolve) => b.endpoint.once('close', () => resolve()));
      a.close();
      await closed;
      assert.equal(b.state, 'closed');
    } finally {
      a.close();
      b.close();
      sa.close();
      sb.close();
    }
  });
}
