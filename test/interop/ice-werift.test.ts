/**
 * Our ICE agent against werift's ICE `Connection` (another implementation) on loopback, in both
 * roles: candidates travel as SDP attribute strings, the pair is nominated and datagrams flow.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Candidate, Connection } from 'werift';
import { SystemClock } from '../../src/core/clock.js';
import { IceAgent } from '../../src/ice/agent.js';
import { waitFor } from '../helpers/wait.js';

for (const weControl of [true, false]) {
  test(`rtcstack (${weControl ? 'controlling' : 'controlled'}) <-> werift (${weControl ? 'controlled' : 'controlling'})`, async () => {
    const ours = new IceAgent({
      clock: new SystemClock({ unref: true }),
      controlling: weControl,
      includeLoopback: true,
      ipv6: false,
      mdns: false,
      interfaceFilter: (i) => i.address === '127.0.0.1',
    });
    const theirs = new Connection(!weControl, { additionalHostAddresses: ['127.0.0.1'], useIpv6: false });
    const got: string[] = [];
    const gotTheirs: string[] = [];
    ours.on('data', (d) => got.push(Buffer.from(d).toString()));
    theirs.onData.subscribe((d) => gotTheirs.push(d.toString()));
    try {
      ours.setRemoteCredentials(theirs.localUsername, theirs.localPassword);
      theirs.setRemoteParams({
        iceLite: false,
        usernameFragment: ours.localCredentials.ufrag,
        password: ours.localCredentials.pwd,
      });
      const local: string[] = [];
      ours.on('candidate', (c) => {
        if (c) local.push(c.attribute);
      });
      ours.start();
      await Promise.all([ours.gather(), theirs.gatherCandidates()]);
      for (const c of theirs.localCandidates) {
        if (c.host === '127.0.0.1') ours.addRemoteCandidate(`candidate:${c.toSdp()}`);
      }
      ours.addRemoteCandidate(null);
      for (const line of local)
        await theirs.addRemoteCandidate(Candidate.fromSdp(line.replace(/^candidate:/, '')));
      await theirs.addRemoteCandidate(undefined);
      const theirConnect = theirs.connect();
      await waitFor(() => ours.state === 'connected' || ours.state === 'completed');
      await theirConnect;
      assert.equal(ours.selectedPair?.remote.address, '127.0.0.1');
      // werift sends once it has a nominated pair; both directions.
      await theirs.send(Buffer.from('\x80from werift'));
      ours.send(Buffer.from('\x80from rtcstack'));
      await waitFor(() => got.length > 0 && gotTheirs.length > 0);
      assert.deepEqual(got, ['\x80from werift']);
      assert.deepEqual(gotTheirs, ['\x80from rtcstack']);
    } finally {
      ours.close();
      await theirs.close();
    }
  });
}
