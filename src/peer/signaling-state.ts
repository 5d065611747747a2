import { domException } from './dom-exception.js';

/** W3C RTCSignalingState. */
export type RTCSignalingState =
  | 'stable'
  | 'have-local-offer'
  | 'have-remote-offer'
  | 'have-local-pranswer'
  | 'have-remote-pranswer'
  | 'closed';

export type RTCSdpType = 'offer' | 'answer' | 'pranswer' | 'rollback';

/**
 * JSEP (RFC 9429 §3.2) signaling state transitions. Returns the state after applying a description
 * of `type` from `side`, or throws InvalidStateError when the transition is not allowed.
 */
export function nextSignalingState(
  state: RTCSignalingState,
  side: 'local' | 'remote',
  type: RTCSdpType,
): RTCSignalingState {
  if (state === 'closed') throw domException('InvalidStateError', 'RTCPeerConnection is closed');
  if (type === 'rollback') {
    if (state === 'stable') throw domException('InvalidStateError', 'nothing to roll back in stable state');
    if (side === 'local' && state !== 'have-local-offer' && state !== 'have-local-pranswer')
      throw domException('InvalidStateError', `cannot roll back a local description in ${state}`);
    if (side === 'remote' && state !== 'have-remote-offer' && state !== 'have-remote-pranswer')
      throw domException('InvalidStateError', `cannot roll back a remote description in ${state}`);
    return 'stable';
  }
  const key = `${state}|${side}|${type}`;
  const next = TRANSITIONS[key];
  if (!next) throw domException('InvalidStateError', `cannot set ${side} ${type} in state ${state}`);
  return next;
}

const TRANSITIONS: Record<string, RTCSignalingState> = {
  'stable|local|offer': 'have-local-offer',
  'stable|remote|offer': 'have-remote-offer',
  'have-local-offer|local|offer': 'have-local-offer',
  'have-local-offer|remote|answer': 'stable',
  'have-local-offer|remote|pranswer': 'have-remote-pranswer',
  'have-remote-pranswer|remote|pranswer': 'have-remote-pranswer',
  'have-remote-pranswer|remote|answer': 'stable',
  'have-remote-offer|remote|offer': 'have-remote-offer',
  'have-remote-offer|local|answer': 'stable',
  'have-remote-offer|local|pranswer': 'have-local-pranswer',
  'have-local-pranswer|local|pranswer': 'have-local-pranswer',
  'have-local-pranswer|local|answer': 'stable',
};
