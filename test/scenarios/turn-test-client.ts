/**
 * A minimal TURN client for server scenarios on the virtual network (the real TURN client lives in
 * src/turn/ and is tested on its own): raw requests with the long-term credential dance, and the
 * data it receives (Data indications and ChannelData) collected in order.
 */
import type { ManualClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/log.js';
import type { Network, TransportAddress, UdpSocket } from '../../src/core/net.js';
import { SeededRandom } from '../../src/core/random.js';
import {
  startTurnServer,
  type TurnServerHandle,
  type TurnServerOptions,
} from '../../src/server/turn/server.js';
import { attr, read } from '../../src/stun/attributes.js';
import { parseChannelData, serializeChannelData } from '../../src/stun/channel-data.js';
import { METHOD } from '../../src/stun/constants.js';
import { longTermKey } from '../../src/stun/integrity.js';
import { type ParsedStunMessage, parseStunMessage, type StunAttribute } from '../../src/stun/message.js';
import { serializeStunMessage } from '../../src/stun/serialize.js';

/**
 * Our TURN server for a scenario: on `network` at `address`:3478, no TLS, relay ports 50000-50999,
 * realm 'test', randomness seeded with `seed`; `over` changes any option.
 */
export function startScenarioTurn(
  network: Network,
  address: string,
  clock: ManualClock,
  seed: number,
  users: string[],
  over: Partial<TurnServerOptions> = {},
): Promise<TurnServerHandle> {
  return startTurnServer({
    network,
    clock,
    random: new SeededRandom(seed),
    logger: silentLogger,
    listeningIps: [address],
    listeningPort: 3478,
    tls: false,
    minPort: 50000,
    maxPort: 50999,
    realm: 'test',
    users,
    ...over,
  });
}

export interface Received {
  readonly peer: TransportAddress | undefined;
  readonly channel: number | undefined;
  readonly data: Uint8Array;
}

export class TestTurnClient {
  readonly socket: UdpSocket;
  readonly server: TransportAddress;
  readonly clock: ManualClock;
  username: string;
  password: string;
  realm = '';
  nonce = '';
  readonly received: Received[] = [];
  readonly responses = new Map<string, ParsedStunMessage>();
  readonly #rnd: SeededRandom;

  constructor(
    socket: UdpSocket,
    server: TransportAddress,
    clock: ManualClock,
    username: string,
    password: string,
    seed = 1,
  ) {
    this.socket = socket;
    this.server = server;
    this.clock = clock;
    this.username = username;
    this.password = password;
    this.#rnd = new SeededRandom(seed);
    socket.onMessage = (data) => {
      const b = data.slice();
      if (b[0]! >= 0x40 && b[0]! <= 0x4f) {
        const cd = parseChannelData(b);
        this.received.push({ peer: undefined, channel: cd.channel, data: cd.data });
        return;
      }
      const m = parseStunMessage(b);
      if (m.cls === 'indication' && m.method === METHOD.DATA) {
        this.received.push({ peer: read.xorPeerAddress(m), channel: undefined, data: read.data(m)! });
        return;
      }
      this.responses.set(Buffer.from(m.transactionId).toString('hex'), m);
    };
  }

  get key(): Uint8Array {
    return longTermKey(this.username, this.realm, this.password);
  }

  /** Send one request (authenticated once a realm is known) and wait for its response. */
  async raw(
    method: number,
    attributes: StunAttribute[],
    auth = true,
  ): Promise<ParsedStunMessage | undefined> {
    const tid = this.#rnd.bytes(12);
    const attrs = [...attributes];
    if (auth && this.realm)
      attrs.push(attr.username(this.username), attr.realm(this.realm), attr.nonce(this.nonce));
    const bytes = serializeStunMessage(
      { method, cls: 'request', transactionId: tid, attributes: attrs },
      { integrity: auth && this.realm ? this.key : undefined, fingerprint: true },
    );
    this.socket.send(bytes, this.server);
    const id = Buffer.from(tid).toString('hex');
    await this.clock.runUntil(() => this.responses.has(id), 5000);
    const r = this.responses.get(id);
    this.responses.delete(id);
    return r;
  }

  /** A request with the 401/438 dance; returns the final response. */
  request(method: number, attributes: StunAttribute[]): Promise<ParsedStunMessage> {
    return this.#withTid(method, () => [...attributes]);
  }

  allocate(extra: StunAttribute[] = []): Promise<ParsedStunMessage> {
    return this.request(METHOD.ALLOCATE, [attr.requestedTransport(17), ...extra]);
  }
  refresh(lifetime?: number): Promise<ParsedStunMessage> {
    return this.request(METHOD.REFRESH, lifetime === undefined ? [] : [attr.lifetime(lifetime)]);
  }
  createPermission(...peers: TransportAddress[]): Promise<ParsedStunMessage> {
    return this.#withTid(METHOD.CREATE_PERMISSION, (t) => peers.map((p) => attr.xorPeerAddress(p, t)));
  }
  channelBind(channel: number, peer: TransportAddress): Promise<ParsedStunMessage> {
    return this.#withTid(METHOD.CHANNEL_BIND, (t) => [
      attr.channelNumber(channel),
      attr.xorPeerAddress(peer, t),
    ]);
  }

  /** Requests whose attributes depend on the transaction id (XOR addresses), with the auth dance. */
  async #withTid(method: number, build: (tid: Uint8Array) => StunAttribute[]): Promise<ParsedStunMessage> {
    for (let i = 0; i < 3; i++) {
      const tid = this.#rnd.bytes(12);
      const attrs = build(tid);
      if (this.realm)
        attrs.push(attr.username(this.username), attr.realm(this.realm), attr.nonce(this.nonce));
      const bytes = serializeStunMessage(
        { method, cls: 'request', transactionId: tid, attributes: attrs },
        { integrity: this.realm ? this.key : undefined, fingerprint: true },
      );
      this.socket.send(bytes, this.server);
      const id = Buffer.from(tid).toString('hex');
      await this.clock.runUntil(() => this.responses.has(id), 5000);
      const r = this.responses.get(id);
      this.responses.delete(id);
      if (!r) throw new Error('no response');
      const err = read.errorCode(r);
      if (r.cls === 'error' && (err?.code === 401 || err?.code === 438) && i < 2) {
        this.realm = read.realm(r) ?? this.realm;
        this.nonce = read.nonce(r) ?? this.nonce;
        continue;
      }
      return r;
    }
    throw new Error('unreachable');
  }

  sendIndication(peer: TransportAddress, data: Uint8Array): void {
    const tid = this.#rnd.bytes(12);
    this.socket.send(
      serializeStunMessage({
        method: METHOD.SEND,
        cls: 'indication',
        transactionId: tid,
        attributes: [attr.xorPeerAddress(peer, tid), attr.data(data)],
      }),
      this.server,
    );
  }

  sendChannel(channel: number, data: Uint8Array): void {
    this.socket.send(serializeChannelData({ channel, data }), this.server);
  }
}

export function errorCodeOf(m: ParsedStunMessage): number | undefined {
  return m.cls === 'error' ? read.errorCode(m)?.code : undefined;
}
