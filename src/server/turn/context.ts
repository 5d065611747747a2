/**
 * What request handlers and the TCP relay see of the engine (an interface, so they do not import
 * the engine module and the engine can import them).
 */
import type { Clock, Timer } from '../../core/clock.js';
import type { TcpConnection, TransportAddress } from '../../core/net.js';
import type { Random } from '../../core/random.js';
import type { ParsedStunMessage, StunAttribute } from '../../stun/message.js';
import type { Allocation, ClientLink } from './allocation.js';
import type { Credentials } from './credentials.js';
import type { PeerPolicy } from './peer-policy.js';
import type { RelayPorts } from './relay-ports.js';
import type { TurnStats } from './stats.js';

/** One peer connection of a TCP allocation (RFC 6062). */
export interface PeerConnection {
  readonly id: number;
  readonly allocation: Allocation;
  readonly peer: TransportAddress;
  readonly conn: TcpConnection;
  /** The client's data connection once bound. */
  data: TcpConnection | undefined;
  buffered: Uint8Array[];
  bufferedBytes: number;
  timer: Timer | undefined;
}

/** What a request handler needs about the request it answers. */
export interface RequestContext {
  readonly msg: ParsedStunMessage;
  readonly link: ClientLink;
  readonly allocation: Allocation | undefined;
  /** Key that authenticated the request (undefined for indications and Binding). */
  readonly key: Uint8Array | undefined;
  /** The authenticated username. */
  readonly username: string;
  readonly fingerprint: boolean;
}

export interface TurnHost {
  readonly stats: TurnStats;
  readonly clock: Clock;
  readonly options: {
    readonly policy: PeerPolicy;
    readonly random: Random;
    readonly relayPorts: RelayPorts;
    readonly credentials: Credentials;
  };
  /** Highest channel number accepted in ChannelBind and ChannelData. */
  readonly maxChannelNumber: number;
  /** RFC 6062 peer connections awaiting or holding a ConnectionBind, by CONNECTION-ID. */
  readonly peerConnections: Map<number, PeerConnection>;
  reply(ctx: RequestContext, attributes: StunAttribute[]): void;
  error(ctx: RequestContext, code: number, reason: string): void;
}
