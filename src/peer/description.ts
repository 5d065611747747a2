/**
 * RTCSessionDescription and RTCIceCandidate (W3C webrtc-pc §4.8, §4.8.2).
 */
import { parseCandidate } from '../sdp/candidate.js';

export type RTCSdpType = 'offer' | 'answer' | 'pranswer' | 'rollback';

export interface RTCSessionDescriptionInit {
  type: RTCSdpType;
  sdp?: string;
}

export class RTCSessionDescription {
  readonly type: RTCSdpType;
  readonly sdp: string;
  constructor(init: RTCSessionDescriptionInit) {
    if (!init || typeof init.type !== 'string') throw new TypeError('RTCSessionDescription needs a type');
    if (!['offer', 'answer', 'pranswer', 'rollback'].includes(init.type)) {
      throw new TypeError(`invalid RTCSdpType '${init.type}'`);
    }
    this.type = init.type;
    this.sdp = init.sdp ?? '';
  }
  toJSON(): RTCSessionDescriptionInit {
    return { type: this.type, sdp: this.sdp };
  }
}

export interface RTCIceCandidateInit {
  candidate?: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

export type RTCIceCandidateType = 'host' | 'srflx' | 'prflx' | 'relay';
export type RTCIceProtocol = 'udp' | 'tcp';
export type RTCIceTcpCandidateType = 'active' | 'passive' | 'so';

export class RTCIceCandidate {
  readonly candidate: string;
  readonly sdpMid: string | null;
  readonly sdpMLineIndex: number | null;
  readonly usernameFragment: string | null;
  readonly foundation: string | null = null;
  readonly component: 'rtp' | 'rtcp' | null = null;
  readonly priority: number | null = null;
  readonly address: string | null = null;
  readonly protocol: RTCIceProtocol | null = null;
  readonly port: number | null = null;
  readonly type: RTCIceCandidateType | null = null;
  readonly tcpType: RTCIceTcpCandidateType | null = null;
  readonly relatedAddress: string | null = null;
  readonly relatedPort: number | null = null;

  constructor(init: RTCIceCandidateInit = {}) {
    if ((init.sdpMid ?? null) === null && (init.sdpMLineIndex ?? null) === null) {
      throw new TypeError('RTCIceCandidate needs sdpMid or sdpMLineIndex');
    }
    this.candidate = init.candidate ?? '';
    this.sdpMid = init.sdpMid ?? null;
    this.sdpMLineIndex = init.sdpMLineIndex ?? null;
    this.usernameFragment = init.usernameFragment ?? null;
    if (this.candidate === '') return;
    try {
      const c = parseCandidate(this.candidate);
      Object.assign(this, {
        foundation: c.foundation,
        component: c.component === 1 ? 'rtp' : c.component === 2 ? 'rtcp' : null,
        priority: c.priority,
        address: c.address,
        protocol: c.transport === 'udp' || c.transport === 'tcp' ? c.transport : null,
        port: c.port,
        type: ['host', 'srflx', 'prflx', 'relay'].includes(c.type) ? c.type : null,
        tcpType: c.tcpType ?? null,
        relatedAddress: c.relatedAddress ?? null,
        relatedPort: c.relatedPort ?? null,
        usernameFragment: this.usernameFragment ?? c.ufrag ?? null,
      });
    } catch {
      // Attributes stay null for a candidate string we cannot parse (as browsers do).
    }
  }

  toJSON(): RTCIceCandidateInit {
    return {
      candidate: this.candidate,
      sdpMid: this.sdpMid,
      sdpMLineIndex: this.sdpMLineIndex,
      usernameFragment: this.usernameFragment,
    };
  }
}
