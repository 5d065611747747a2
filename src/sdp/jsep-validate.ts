/**
 * Checks a remote description must pass before it is applied (RFC 9429 §5.8, W3C webrtc-pc §4.4.1.5),
 * the transport parameters of a section (media level, falling back to session level), ICE restart
 * detection and the signaling state machine. Failures are JsepErrors whose `kind` names the
 * DOMException the peer connection raises.
 */
import { JsepError } from './errors.js';
import type { Candidate, Fingerprint, MediaDescription, SessionDescription, SetupRole } from './types.js';

export type SdpType = 'offer' | 'pranswer' | 'answer' | 'rollback';
export type SignalingState =
  | 'stable'
  | 'have-local-offer'
  | 'have-remote-offer'
  | 'have-local-pranswer'
  | 'have-remote-pranswer'
  | 'closed';

/** Fingerprint hashes we can verify (RFC 8122 §5; node:crypto names them the same). */
export const FINGERPRINT_ALGORITHMS = ['sha-1', 'sha-224', 'sha-256', 'sha-384', 'sha-512'];

const invalid = (code: string, msg: string): JsepError => new JsepError(code, 'InvalidAccessError', msg);

/** Everything ICE and DTLS need from one section. */
export interface TransportParameters {
  readonly iceUfrag?: string;
  readonly icePwd?: string;
  readonly iceLite: boolean;
  readonly iceOptions: readonly string[];
  readonly fingerprints: readonly Fingerprint[];
  readonly setup?: SetupRole;
  readonly candidates: readonly Candidate[];
  readonly endOfCandidates: boolean;
}

export function transportOf(sdp: SessionDescription, m: MediaDescription): TransportParameters {
  return {
    ...((m.iceUfrag ?? sdp.iceUfrag) !== undefined && { iceUfrag: m.iceUfrag ?? sdp.iceUfrag }),
    ...((m.icePwd ?? sdp.icePwd) !== undefined && { icePwd: m.icePwd ?? sdp.icePwd }),
    iceLite: sdp.iceLite,
    iceOptions: m.iceOptions ?? sdp.iceOptions ?? [],
    fingerprints: m.fingerprints.length > 0 ? m.fingerprints : sdp.fingerprints,
    ...((m.setup ?? sdp.setup) !== undefined && { setup: m.setup ?? sdp.setup }),
    candidates: m.candidates,
    endOfCandidates: m.endOfCandidates,
  };
}

/** The BUNDLE groups of a description (RFC 9143), each as its list of mids; first is the tag. */
export function bundleGroups(sdp: SessionDescription): string[][] {
  return sdp.groups.filter((g) => g.semantics === 'BUNDLE').map((g) => [...g.mids]);
}

/**
 * The section whose transport carries `mid`: the first accepted section of its BUNDLE group
 * (the offerer-tagged one), or the section itself when unbundled.
 */
export function transportSectionFor(sdp: SessionDescription, mid: string): MediaDescription | undefined {
  const group = bundleGroups(sdp).find((g) => g.includes(mid));
  const live = (id: string): MediaDescription | undefined =>
    sdp.media.find((m) => m.mid === id && m.port !== 0);
  if (group) for (const id of group) if (live(id)) return live(id);
  return sdp.media.find((m) => m.mid === mid);
}

const isRtp = (m: MediaDescription): boolean => /RTP\//.test(m.protocol);

/**
 * Structural checks of a remote description of `type`. Throws JsepError:
 * InvalidAccessError for content that breaks a rule, OperationError for content we cannot apply.
 */
export function validateDescription(sdp: SessionDescription, type: Exclude<SdpType, 'rollback'>): void {
  const mids = new Set<string>();
  for (const [i, m] of sdp.media.entries()) {
    if (m.mid === undefined) {
      if (m.port === 0) continue;
      throw invalid('ERR_SDP_MISSING_MID', `m-section ${i} has no a=mid`);
    }
    if (mids.has(m.mid)) throw invalid('ERR_SDP_DUPLICATE_MID', `mid ${m.mid} appears twice`);
    mids.add(m.mid);
  }
  const groups = bundleGroups(sdp);
  const grouped = new Set<string>();
  for (const g of groups) {
    for (const mid of g) {
      if (!mids.has(mid)) throw invalid('ERR_SDP_BAD_BUNDLE', `BUNDLE names mid ${mid} that has no section`);
      if (grouped.has(mid)) throw invalid('ERR_SDP_BAD_BUNDLE', `mid ${mid} is in two BUNDLE groups`);
      grouped.add(mid);
    }
  }
  for (const m of sdp.media) {
    if (m.port === 0 && !m.bundleOnly) continue;
    if (m.port === 0 && m.bundleOnly && !grouped.has(m.mid ?? '')) continue;
    const carrier = transportSectionFor(sdp, m.mid ?? '') ?? m;
    const t = transportOf(sdp, carrier);
    const where = `section ${m.mid}`;
    if (t.iceUfrag === undefined || t.icePwd === undefined) {
      throw invalid('ERR_SDP_MISSING_ICE_CREDENTIALS', `${where} has no ice-ufrag/ice-pwd`);
    }
    // RFC 8839 §5.4: ufrag 4..256 ice-chars, pwd 22..256.
    if (t.iceUfrag.length < 4 || t.iceUfrag.length > 256 || t.icePwd.length < 22 || t.icePwd.length > 256) {
      throw invalid('ERR_SDP_BAD_ICE_CREDENTIALS', `${where}: ice-ufrag/ice-pwd length out of range`);
    }
    if (t.fingerprints.length === 0)
      throw invalid('ERR_SDP_MISSING_FINGERPRINT', `${where} has no a=fingerprint`);
    if (!t.fingerprints.some((f) => FINGERPRINT_ALGORITHMS.includes(f.algorithm))) {
      throw new JsepError(
        'ERR_SDP_UNSUPPORTED_FINGERPRINT',
        'OperationError',
        `${where}: no supported fingerprint hash in ${t.fingerprints.map((f) => f.algorithm).join(', ')}`,
      );
    }
    if (type !== 'offer' && t.setup === 'actpass') {
      throw invalid('ERR_SDP_BAD_SETUP', `${where}: an answer must not use a=setup:actpass`);
    }
    if (t.setup === 'holdconn')
      throw invalid('ERR_SDP_BAD_SETUP', `${where}: a=setup:holdconn is not supported`);
    if (
      isRtp(m) &&
      m.port !== 0 &&
      !m.rtcpMux &&
      !sdp.media.some((x) => grouped.has(x.mid ?? '') && x.rtcpMux)
    ) {
      throw invalid('ERR_SDP_RTCP_MUX_REQUIRED', `${where}: rtcp-mux is required (rtcpMuxPolicy "require")`);
    }
  }
}

/** An answer must mirror its offer: same number of sections, same kinds and mids, in order. */
export function validateAnswer(offer: SessionDescription, answer: SessionDescription): void {
  if (offer.media.length !== answer.media.length) {
    throw invalid(
      'ERR_SDP_ANSWER_MISMATCH',
      `answer has ${answer.media.length} sections, offer ${offer.media.length}`,
    );
  }
  for (const [i, o] of offer.media.entries()) {
    const a = answer.media[i]!;
    if (a.kind !== o.kind || (a.port !== 0 && a.mid !== o.mid)) {
      throw invalid(
        'ERR_SDP_ANSWER_MISMATCH',
        `answer section ${i} (${a.kind} ${a.mid}) does not match the offer`,
      );
    }
  }
  const offered = new Set(bundleGroups(offer).flat());
  for (const mid of bundleGroups(answer).flat()) {
    if (!offered.has(mid)) throw invalid('ERR_SDP_BAD_BUNDLE', `answer bundles mid ${mid} the offer did not`);
  }
}

/**
 * RFC 9429 §5.8 / RFC 8839 §4.4.1.1: the remote side restarted ICE when the credentials of a
 * section's transport changed.
 */
export function isIceRestart(previous: SessionDescription, next: SessionDescription): boolean {
  for (const m of next.media) {
    if (m.port === 0 || m.mid === undefined) continue;
    const before = previous.media.find((x) => x.mid === m.mid);
    if (!before || before.port === 0) continue;
    const a = transportOf(previous, transportSectionFor(previous, m.mid) ?? before);
    const b = transportOf(next, transportSectionFor(next, m.mid) ?? m);
    if (a.iceUfrag !== b.iceUfrag || a.icePwd !== b.icePwd) return true;
  }
  return false;
}

/**
 * The signaling state after applying a description (W3C webrtc-pc §4.3.1, JSEP §3.2). Throws an
 * InvalidStateError JsepError for a transition the state machine does not allow.
 */
export function nextSignalingState(
  state: SignalingState,
  side: 'local' | 'remote',
  type: SdpType,
): SignalingState {
  const bad = (): never => {
    throw new JsepError(
      'ERR_SDP_BAD_STATE',
      'InvalidStateError',
      `cannot set ${side} ${type} in state ${state}`,
    );
  };
  if (state === 'closed') return bad();
  const key = `${state}:${side}:${type}`;
  switch (key) {
    case 'stable:local:offer':
    case 'have-local-offer:local:offer':
      return 'have-local-offer';
    case 'stable:remote:offer':
    case 'have-remote-offer:remote:offer':
      return 'have-remote-offer';
    case 'have-remote-offer:local:answer':
    case 'have-local-pranswer:local:answer':
    case 'have-local-offer:remote:answer':
    case 'have-remote-pranswer:remote:answer':
      return 'stable';
    case 'have-remote-offer:local:pranswer':
    case 'have-local-pranswer:local:pranswer':
      return 'have-local-pranswer';
    case 'have-local-offer:remote:pranswer':
    case 'have-remote-pranswer:remote:pranswer':
      return 'have-remote-pranswer';
    // JSEP §4.1.8.2: a side rolls back its own pending offer. (A remote offer arriving in
    // have-local-offer, perfect negotiation's implicit rollback, is two steps for the caller.)
    case 'have-local-offer:local:rollback':
    case 'have-remote-offer:remote:rollback':
      return 'stable';
    default:
      return bad();
  }
}
