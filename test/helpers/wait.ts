/**
 * Polls `cond` (sync or async) every 10 ms of real time until it holds, or rejects naming `what`
 * after `ms`. The limit is a safety net against hangs, not a timing assertion.
 */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  what = 'condition',
  ms = 30_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timeout: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The parts of an RTCPeerConnection a stuck setup is diagnosed from (ours or a page's, as JSON). */
interface DiagnosablePc {
  readonly signalingState: string;
  readonly iceGatheringState: string;
  readonly iceConnectionState: string;
  readonly connectionState: string;
  getStats(): Promise<Map<string, Record<string, unknown>> | ReadonlyMap<string, unknown>>;
}

/**
 * One line per fact about `pc`'s setup: its states, its transport report (DTLS state, role, version,
 * selected pair) and each candidate pair's state, to print when a wait for `connected` times out.
 */
export async function describeSetup(pc: DiagnosablePc): Promise<string> {
  const lines = [
    `signaling=${pc.signalingState} gathering=${pc.iceGatheringState} ice=${pc.iceConnectionState} connection=${pc.connectionState}`,
  ];
  const stats = (await pc.getStats()) as ReadonlyMap<string, Record<string, unknown>>;
  for (const r of stats.values()) {
    if (r.type === 'transport') {
      lines.push(
        `transport dtlsState=${r.dtlsState} dtlsRole=${r.dtlsRole} tls=${r.tlsVersion} selectedPair=${r.selectedCandidatePairId} sent=${r.packetsSent} received=${r.packetsReceived}`,
      );
    } else if (r.type === 'candidate-pair') {
      lines.push(
        `pair ${r.id} state=${r.state} nominated=${r.nominated} requests=${r.requestsSent}/${r.requestsReceived} responses=${r.responsesReceived}/${r.responsesSent}`,
      );
    }
  }
  return lines.join('\n');
}

/** Waits for `pc.connectionState === 'connected'`; on timeout the error says where setup stopped. */
export async function waitConnected(pc: DiagnosablePc, ms = 30_000): Promise<void> {
  try {
    await waitFor(() => pc.connectionState === 'connected', 'connected', ms);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${await describeSetup(pc)}`);
  }
}
