/**
 * CreatePermission (RFC 8656 §10), ChannelBind (§12.2) and Send indications (§11.2): the requests
 * that act on an existing allocation.
 */
import { familyOf, type TransportAddress } from '../../core/net.js';
import { attr, read } from '../../stun/attributes.js';
import { ERROR } from '../../stun/constants.js';
import type { ParsedStunMessage } from '../../stun/message.js';
import type { Allocation } from './allocation.js';
import type { RequestContext, TurnHost } from './context.js';
import type { TcpRelay } from './tcp-relay.js';

/**
 * Checks a peer address against the allocation's family and the policy; answers the error and
 * returns false when refused.
 */
function peerAllowed(engine: TurnHost, ctx: RequestContext, a: Allocation, peer: TransportAddress): boolean {
  if (familyOf(peer.address) !== familyOf(a.relayed.address)) {
    engine.error(ctx, ERROR.PEER_ADDRESS_FAMILY_MISMATCH, 'Peer Address Family Mismatch');
    return false;
  }
  if (!engine.options.policy.allows(peer.address)) {
    engine.stats.refusedPeers++;
    engine.error(ctx, ERROR.FORBIDDEN, 'Forbidden');
    return false;
  }
  return true;
}

export function handleCreatePermission(engine: TurnHost, ctx: RequestContext): void {
  const a = ctx.allocation;
  if (!a) {
    engine.error(ctx, ERROR.ALLOCATION_MISMATCH, 'Allocation Mismatch');
    return;
  }
  const peers = read.xorPeerAddresses(ctx.msg);
  if (peers.length === 0) {
    engine.error(ctx, ERROR.BAD_REQUEST, 'Missing XOR-PEER-ADDRESS');
    return;
  }
  // All or nothing (RFC 8656 §10.2): check every address before installing any.
  for (const p of peers) if (!peerAllowed(engine, ctx, a, p)) return;
  let fresh = 0;
  for (const p of peers) if (!a.permissions.get(p.address)?.live) fresh++;
  if (a.permissions.size + fresh > a.maxPermissions) {
    engine.stats.quotaRefusals++;
    engine.error(ctx, ERROR.INSUFFICIENT_CAPACITY, 'Insufficient Capacity');
    return;
  }
  for (const p of peers) a.permit(p.address);
  engine.reply(ctx, []);
}

export function handleChannelBind(engine: TurnHost, ctx: RequestContext): void {
  const a = ctx.allocation;
  if (!a) {
    engine.error(ctx, ERROR.ALLOCATION_MISMATCH, 'Allocation Mismatch');
    return;
  }
  const number = read.channelNumber(ctx.msg);
  const peer = read.xorPeerAddress(ctx.msg);
  if (number === undefined || peer === undefined || number < 0x4000 || number > engine.maxChannelNumber) {
    engine.error(ctx, ERROR.BAD_REQUEST, 'Bad Request');
    return;
  }
  // RFC 8656 §12.2: a channel is bound to one peer, a peer to one channel, for the binding's life.
  const existing = a.channels.get(number);
  if (existing && (existing.peer.port !== peer.port || existing.peer.address !== peer.address)) {
    engine.error(ctx, ERROR.BAD_REQUEST, 'Channel bound to another peer');
    return;
  }
  const other = a.channelForPeer(peer);
  if (other && other.number !== number) {
    engine.error(ctx, ERROR.BAD_REQUEST, 'Peer bound to another channel');
    return;
  }
  if (!peerAllowed(engine, ctx, a, peer)) return;
  if (!a.permissions.get(peer.address)?.live && a.permissions.size + 1 > a.maxPermissions) {
    engine.stats.quotaRefusals++;
    engine.error(ctx, ERROR.INSUFFICIENT_CAPACITY, 'Insufficient Capacity');
    return;
  }
  a.bind(number, peer);
  engine.reply(ctx, []);
}

/** Send indication: relayed if the peer IP has a permission, dropped silently otherwise. */
export function handleSend(engine: TurnHost, msg: ParsedStunMessage, a: Allocation): void {
  const peer = read.xorPeerAddress(msg);
  const data = read.data(msg);
  if (!peer || !data) {
    engine.stats.droppedClientData++;
    return;
  }
  a.sendToPeer(peer, data);
}

/** RFC 6062 §5.2: Connect to a peer from a TCP allocation. */
export function handleConnect(engine: TurnHost, ctx: RequestContext): void {
  const a = ctx.allocation;
  if (!a) {
    engine.error(ctx, ERROR.ALLOCATION_MISMATCH, 'Allocation Mismatch');
    return;
  }
  const tcp = a.tcp as TcpRelay | undefined;
  const peer = read.xorPeerAddress(ctx.msg);
  if (!tcp || !peer) {
    engine.error(ctx, ERROR.BAD_REQUEST, 'Bad Request');
    return;
  }
  if (!peerAllowed(engine, ctx, a, peer)) return;
  if (tcp.hasPeer(peer)) {
    engine.error(ctx, ERROR.CONNECTION_ALREADY_EXISTS, 'Connection Already Exists');
    return;
  }
  tcp.connect(peer).then(
    (id) => engine.reply(ctx, [attr.connectionId(id)]),
    () => {
      if (!a.closed) engine.error(ctx, ERROR.CONNECTION_TIMEOUT_OR_FAILURE, 'Connection Timeout or Failure');
    },
  );
}

/** RFC 6062 §5.4: ConnectionBind on a fresh client connection turns it into a data connection. */
export function handleConnectionBind(engine: TurnHost, ctx: RequestContext): void {
  const id = read.connectionId(ctx.msg);
  const pc = id === undefined ? undefined : engine.peerConnections.get(id);
  if (ctx.allocation || !ctx.link.stream || !ctx.link.pipe || !pc || pc.data) {
    engine.error(ctx, ERROR.BAD_REQUEST, 'Bad Request');
    return;
  }
  if (pc.allocation.username !== ctx.username) {
    engine.stats.authFailures++;
    engine.error(ctx, ERROR.WRONG_CREDENTIALS, 'Wrong Credentials');
    return;
  }
  // The success response goes out before the first relayed byte.
  engine.reply(ctx, []);
  (pc.allocation.tcp as TcpRelay).bind(pc, ctx.link);
}
