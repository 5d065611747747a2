/**
 * SDP (RFC 8866) as plain typed data, with the attributes WebRTC uses given their own fields and
 * everything else kept in `attributes` so a description survives a parse/serialize round trip.
 */

/** `c=` (RFC 8866 §5.7). */
export interface Connection {
  readonly netType: string;
  readonly addrType: string;
  readonly address: string;
}

/** `o=` (RFC 8866 §5.2). Session id and version are decimal strings (they exceed 2^53). */
export interface Origin {
  readonly username: string;
  readonly sessionId: string;
  readonly sessionVersion: string;
  readonly netType: string;
  readonly addrType: string;
  readonly address: string;
}

/** `b=<type>:<bandwidth>` (RFC 8866 §5.8). */
export interface Bandwidth {
  readonly type: string;
  readonly value: number;
}

/** `t=` (RFC 8866 §5.9). */
export interface Timing {
  readonly start: string;
  readonly stop: string;
}

/** An attribute this module gives no field of its own: `a=name` or `a=name:value`. */
export interface Attribute {
  readonly name: string;
  readonly value?: string;
}

/** A session-level line other than v/o/s/c/b/t/a (i=, u=, e=, p=, r=, z=, k=), kept as is. */
export interface OtherLine {
  readonly type: string;
  readonly value: string;
}

/** `a=fingerprint:<hash> <hex:hex:...>` (RFC 8122 §5). */
export interface Fingerprint {
  readonly algorithm: string;
  readonly value: string;
}

/** `a=setup` (RFC 4145 §4). */
export type SetupRole = 'actpass' | 'active' | 'passive' | 'holdconn';

/** `a=sendrecv` and friends (RFC 8866 §6.7). */
export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** `a=group:<semantics> <mid>...` (RFC 5888, BUNDLE RFC 9143). */
export interface Group {
  readonly semantics: string;
  readonly mids: readonly string[];
}

/** `a=msid-semantic:<semantic> <id>...` (draft-ietf-mmusic-msid, as browsers emit it). */
export interface MsidSemantic {
  readonly semantic: string;
  readonly ids: readonly string[];
}

/** ICE candidate (RFC 8839 §5.1). */
export interface Candidate {
  readonly foundation: string;
  readonly component: number;
  /** Transport as lower case: 'udp', 'tcp' or an extension token. */
  readonly transport: string;
  readonly priority: number;
  /** IP address or FQDN (mDNS `.local` names included). */
  readonly address: string;
  readonly port: number;
  readonly type: 'host' | 'srflx' | 'prflx' | 'relay' | (string & {});
  readonly relatedAddress?: string;
  readonly relatedPort?: number;
  /** RFC 6544 §4.5. */
  readonly tcpType?: 'active' | 'passive' | 'so';
  readonly generation?: number;
  readonly ufrag?: string;
  readonly networkId?: number;
  readonly networkCost?: number;
  /** Extension attributes this module does not know, in order. */
  readonly extensions: readonly (readonly [name: string, value: string])[];
}

/** `a=rtpmap:<pt> <encoding>/<clock>[/<params>]` (RFC 8866 §6.6). */
export interface RtpMap {
  readonly payloadType: number;
  readonly encodingName: string;
  readonly clockRate: number;
  readonly encodingParameters?: number;
}

/** `a=fmtp:<pt> <params>` (RFC 8866 §6.15); `parameters` as written, see `parseFmtpParameters`. */
export interface Fmtp {
  readonly payloadType: number;
  readonly parameters: string;
}

/** `a=rtcp-fb:<pt|*> <type> [<param>]` (RFC 4585 §4.2). */
export interface RtcpFb {
  readonly payloadType: number | '*';
  readonly type: string;
  readonly parameter?: string;
}

/** `a=extmap:<id>[/<direction>] <uri> [<attributes>]` (RFC 8285 §8). */
export interface Extmap {
  readonly id: number;
  readonly direction?: Direction;
  readonly uri: string;
  readonly attributes?: string;
}

/** `a=ssrc:<ssrc> <attribute>[:<value>]` (RFC 5576 §4.1). */
export interface SsrcAttribute {
  readonly ssrc: number;
  readonly attribute: string;
  readonly value?: string;
}

/** `a=ssrc-group:<semantics> <ssrc>...` (RFC 5576 §4.2): FID, SIM, FEC-FR. */
export interface SsrcGroup {
  readonly semantics: string;
  readonly ssrcs: readonly number[];
}

/** `a=msid:<stream id> [<track id>]` (RFC 8830). */
export interface Msid {
  readonly stream: string;
  readonly track?: string;
}

/** `a=rid:<id> <send|recv> [pt=..;restriction=..]` (RFC 8851 §10). */
export interface Rid {
  readonly id: string;
  readonly direction: 'send' | 'recv';
  readonly payloadTypes?: readonly number[];
  readonly restrictions: readonly (readonly [name: string, value: string | undefined])[];
}

/** One rid in a simulcast stream list; `~` marks it paused (RFC 8853 §5.1). */
export interface SimulcastRid {
  readonly rid: string;
  readonly paused: boolean;
}

/** `a=simulcast:` (RFC 8853): streams separated by `;`, alternatives of a stream by `,`. */
export interface Simulcast {
  readonly send?: readonly (readonly SimulcastRid[])[];
  readonly recv?: readonly (readonly SimulcastRid[])[];
}

/** `a=rtcp:<port> [<nettype> <addrtype> <address>]` (RFC 3605). */
export interface RtcpAttribute {
  readonly port: number;
  readonly connection?: Connection;
}

/** One `m=` section and its lines. */
export interface MediaDescription {
  /** audio, video, application, ... */
  readonly kind: string;
  /** 9 for bundled/trickle sections, 0 for rejected ones. */
  readonly port: number;
  readonly numberOfPorts?: number;
  /** UDP/TLS/RTP/SAVPF, UDP/DTLS/SCTP, TCP/DTLS/SCTP, TCP/TLS/RTP/SAVPF, ... */
  readonly protocol: string;
  /** Payload types (RTP) or `webrtc-datachannel`. */
  readonly formats: readonly string[];
  readonly title?: string;
  readonly connection?: Connection;
  readonly bandwidths: readonly Bandwidth[];
  readonly rtcp?: RtcpAttribute;
  readonly mid?: string;
  readonly iceUfrag?: string;
  readonly icePwd?: string;
  readonly iceOptions?: readonly string[];
  readonly fingerprints: readonly Fingerprint[];
  readonly setup?: SetupRole;
  readonly candidates: readonly Candidate[];
  readonly endOfCandidates: boolean;
  readonly extmaps: readonly Extmap[];
  readonly extmapAllowMixed: boolean;
  readonly direction?: Direction;
  readonly msids: readonly Msid[];
  readonly rtcpMux: boolean;
  readonly rtcpMuxOnly: boolean;
  readonly rtcpRsize: boolean;
  readonly rtpmaps: readonly RtpMap[];
  readonly fmtps: readonly Fmtp[];
  readonly rtcpFbs: readonly RtcpFb[];
  readonly ssrcGroups: readonly SsrcGroup[];
  readonly ssrcs: readonly SsrcAttribute[];
  readonly rids: readonly Rid[];
  readonly simulcast?: Simulcast;
  readonly sctpPort?: number;
  readonly maxMessageSize?: number;
  readonly bundleOnly: boolean;
  readonly attributes: readonly Attribute[];
}

/** A whole session description. */
export interface SessionDescription {
  readonly version: number;
  readonly origin: Origin;
  readonly sessionName: string;
  readonly connection?: Connection;
  readonly bandwidths: readonly Bandwidth[];
  readonly timing: readonly Timing[];
  readonly otherLines: readonly OtherLine[];
  readonly groups: readonly Group[];
  readonly msidSemantic?: MsidSemantic;
  readonly iceLite: boolean;
  readonly iceOptions?: readonly string[];
  readonly iceUfrag?: string;
  readonly icePwd?: string;
  readonly fingerprints: readonly Fingerprint[];
  readonly setup?: SetupRole;
  readonly extmapAllowMixed: boolean;
  readonly extmaps: readonly Extmap[];
  readonly attributes: readonly Attribute[];
  readonly media: readonly MediaDescription[];
}

/** `T` with writable fields and arrays (what a parser fills in). */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] extends readonly (infer U)[] ? U[] : T[K] };

/** A media section with every list empty and every flag off (fresh arrays: a parser may push). */
export function emptyMedia(): Mutable<MediaDescription> {
  return {
    kind: 'application',
    port: 9,
    protocol: 'UDP/DTLS/SCTP',
    formats: [],
    bandwidths: [],
    fingerprints: [],
    candidates: [],
    endOfCandidates: false,
    extmaps: [],
    extmapAllowMixed: false,
    msids: [],
    rtcpMux: false,
    rtcpMuxOnly: false,
    rtcpRsize: false,
    rtpmaps: [],
    fmtps: [],
    rtcpFbs: [],
    ssrcGroups: [],
    ssrcs: [],
    rids: [],
    bundleOnly: false,
    attributes: [],
  };
}

/** An empty media section to spread defaults from: `{ ...EMPTY_MEDIA, kind, port, ... }`. */
export const EMPTY_MEDIA: MediaDescription = emptyMedia();
