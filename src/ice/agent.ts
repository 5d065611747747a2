/**
 * The ICE agent (RFC 8445 full agent, RFC 8838 trickle, RFC 7675 consent), sans-IO on the Clock.
 *
 * Usage (one side; the other mirrors it with `controlling: false`):
 *
 *   const agent = new IceAgent({ network, clock, iceServers: [{ urls: 'stun:203.0.113.1:3478' }] });
 *   agent.on('candidate', (c) => signal(c ? c.attribute : null));    // trickle to the peer
 *   agent.on('statechange', (s) => ...);                              // 'checking' .. 'connected'
 *   agent.on('data', (bytes) => dtls.handle(bytes));                  // non-STUN datagrams
 *   agent.setRemoteCredentials(peer.ufrag, peer.pwd);
 *   await agent.gather();                                             // host, srflx, relay
 *   agent.start();                                                    // checks begin (Ta pacing)
 *   onSignal((line) => agent.addRemoteCandidate(line));               // null = end-of-candidates
 *   agent.send(bytes);                                                // on the selected pair
 *
 * The agent owns its bases (sockets and TURN allocations, see gather.ts); everything else, checks,
 * nomination, consent and state, happens here in response to `#onPacket` and timers.
 */
import { toHex } from '../core/bytes.js';
import { type Clock, systemClock, type Timer } from '../core/clock.js';
import { StateError } from '../core/errors.js';
import { Emitter } from '../core/events.js';
import { type Logger, silentLogger } from '../core/log.js';
import type { Network, TransportAddress } from '../core/net.js';
import { nodeNetwork } from '../core/net-node.js';
import { cryptoRandom, type Random } from '../core/random.js';
import { METHOD, type ParsedStunMessage, parseStunMessage, read } from '../stun/index.js';
import type { TurnClient } from '../turn/client.js';
import type { Base } from './base.js';
import {
  type Candidate,
  COMPONENT_RTP,
  computeFoundation,
  computePriority,
  isMdnsCandidate,
} from './candidate.js';
import { parseCandidate } from './candidate-attribute.js';
import { CheckList } from './checklist.js';
import {
  ERROR,
  hasValidIntegrity,
  readCheck,
  serializeCheckError,
  serializeCheckRequest,
  serializeCheckSuccess,
} from './checks.js';
import { ConsentFreshness } from './consent.js';
import { randomCredentials } from './credentials.js';
import { Gatherer } from './gather.js';
import { MdnsResolver } from './mdns.js';
import { decideNomination, resolveRoleConflict } from './nomination.js';
import { nextTurn, Pacer } from './pacing.js';
import { CandidatePair, type LocalCandidate, type RemoteCandidate } from './pair.js';
import {
  announcement,
  localPeerReflexive,
  promoteToSignaled,
  remotePeerReflexive,
} from './peer-reflexive.js';
import { collectStats, type IceStats } from './stats.js';
import { type CheckTransaction, CheckTransactions } from './transactions.js';
import type {
  IceAgentEvents,
  IceAgentOptions,
  IceCredentials,
  IceGatheringState,
  IceRole,
  IceTransportState,
} from './types.js';

/** Callback for responses to requests the gatherer sends from host bases (STUN Binding to servers). */
export type ServerResponseHandler = (msg: ParsedStunMessage, from: TransportAddress) => void;

export class IceAgent extends Emitter<IceAgentEvents> {
  readonly clock: Clock;
  readonly network: Network;
  readonly random: Random;
  readonly log: Logger;
  readonly options: Readonly<IceAgentOptions>;

  #controlling: boolean;
  #tieBreaker: bigint;
  #localCreds: IceCredentials;
  #remoteCreds: IceCredentials | undefined;
  #remoteLite = false;
  #state: IceTransportState = 'new';
  #gatheringState: IceGatheringState = 'new';
  #started = false;
  #closed = false;

  readonly #bases = new Map<string, Base>();
  #locals: LocalCandidate[] = [];
  #remotes: RemoteCandidate[] = [];
  #checklist: CheckList;
  #valid = new Map<string, CandidatePair>();
  #validOf = new Map<CandidatePair, CandidatePair>();
  #transactions: CheckTransactions;
  readonly #serverTransactions = new Map<string, ServerResponseHandler>();
  #selected: CandidatePair | undefined;
  #selectedChanges = 0;
  #nominating: CandidatePair | undefined;
  #firstValidAt: number | undefined;
  #remoteEndOfCandidates = false;
  #startedAt = 0;
  #localCandidateSeq = 0;
  #remoteCandidateSeq = 0;
  #pendingRemote = 0;

  readonly #pacer: Pacer;
  #nominationTimer: Timer | undefined;
  #consent: ConsentFreshness;
  #noPairTimer: Timer | undefined;
  #gatherer: Gatherer;
  #mdns: MdnsResolver | undefined;

  /** Datagrams that failed to parse or authenticate (counted, dropped). */
  droppedPackets = 0;

  constructor(options: IceAgentOptions = {}) {
    super();
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.network = options.network ?? nodeNetwork;
    this.random = options.random ?? cryptoRandom;
    this.log = options.logger ?? silentLogger;
    this.#controlling = options.controlling ?? true;
    this.#tieBreaker = this.#newTieBreaker();
    this.#localCreds = options.localCredentials ?? randomCredentials();
    this.#checklist = new CheckList(options.maxPairs);
    this.#gatherer = new Gatherer(this);
    // On the real clock a due check goes out on the next turn (node's 0 ms timer waits 1 ms);
    // other clocks (ManualClock in tests) get every tick through the clock.
    const soon = this.clock === systemClock ? nextTurn : undefined;
    this.#pacer = new Pacer(this.clock, options.ta, () => this.#onTa(), soon);
    this.#transactions = new CheckTransactions(
      this.clock,
      {
        rto: options.checkRto ?? 500,
        rtoMax: options.checkRtoMax ?? 4000,
        transmissions: options.checkTransmissions ?? 7,
        consentWait: options.consentInterval ?? 5000,
      },
      (t) => this.#transmit(t),
      (t) => {
        if (!t.consent) this.#pairFailed(t.pair);
      },
    );
    this.#consent = new ConsentFreshness(
      this.clock,
      this.random,
      {
        interval: options.consentInterval ?? 5000,
        disconnectedTimeout: options.disconnectedTimeout ?? 10_000,
        consentTimeout: options.consentTimeout ?? 30_000,
      },
      () => {
        if (this.#selected) this.#sendCheck(this.#selected, true);
      },
      (lapse) => {
        this.log.info('consent lapsed', { lapse, pair: this.#selected?.toString() });
        this.#setState(lapse);
      },
    );
    if (options.mdns !== false) {
      const m = typeof options.mdns === 'object' ? options.mdns : {};
      this.#mdns = new MdnsResolver({
        network: this.network,
        clock: this.clock,
        ...(m.server ? { server: m.server } : {}),
        ...(m.timeoutMs ? { timeoutMs: m.timeoutMs } : {}),
      });
    }
  }

  // ---------------------------------------------------------------- public surface

  get state(): IceTransportState {
    return this.#state;
  }
  get gatheringState(): IceGatheringState {
    return this.#gatheringState;
  }
  get role(): IceRole {
    return this.#controlling ? 'controlling' : 'controlled';
  }
  get controlling(): boolean {
    return this.#controlling;
  }
  get localCredentials(): IceCredentials {
    return this.#localCreds;
  }
  get remoteCredentials(): IceCredentials | undefined {
    return this.#remoteCreds;
  }
  /** How many times the selected pair changed (W3C transport stats' selectedCandidatePairChanges). */
  get selectedPairChanges(): number {
    return this.#selectedChanges;
  }

  get selectedPair(): CandidatePair | undefined {
    return this.#selected;
  }
  get localCandidates(): readonly LocalCandidate[] {
    return this.#locals;
  }
  get remoteCandidates(): readonly RemoteCandidate[] {
    return this.#remotes;
  }
  /** TURN clients of the relayed candidates (for stats and tests). */
  get turnClients(): readonly TurnClient[] {
    return this.#gatherer.turnClients;
  }
  /** Pairs in the check list (ordered by priority) followed by valid pairs formed from responses. */
  get pairs(): readonly CandidatePair[] {
    const out = [...this.#checklist.pairs];
    for (const p of this.#valid.values()) if (!out.includes(p)) out.push(p);
    return out;
  }

  /**
   * Gather host, server-reflexive and relayed candidates. Emits 'candidate' for each and null at
   * the end. Resolves when gathering is complete.
   */
  async gather(): Promise<void> {
    this.#assertOpen();
    if (this.#gatheringState !== 'new') return;
    this.#setGatheringState('gathering');
    await this.#gatherer.gather();
    if (this.#closed) return;
    this.#setGatheringState('complete');
    this.emit('candidate', null);
    this.#evaluate();
  }

  /** The peer's ufrag and password (from its SDP). `lite` when the peer is an ICE-lite agent. */
  setRemoteCredentials(ufrag: string, pwd: string, options: { lite?: boolean } = {}): void {
    this.#assertOpen();
    this.#remoteCreds = { ufrag, pwd };
    this.#remoteLite = options.lite ?? false;
    if (this.#remoteLite && !this.#controlling) this.#setRole(true); // RFC 8445 §6.1.1
    this.#schedulePacing();
  }

  /**
   * Add a remote candidate (object or attribute string); null means end-of-candidates (RFC 8838).
   * `.local` names are resolved over mDNS first. Candidates for another ufrag are ignored.
   */
  addRemoteCandidate(c: Candidate | string | null): void {
    this.#assertOpen();
    if (c === null) {
      this.#remoteEndOfCandidates = true;
      this.#evaluate();
      return;
    }
    const cand = typeof c === 'string' ? parseCandidate(c) : c;
    if (cand.component !== COMPONENT_RTP) return;
    const ufrag = cand.extensions?.find(([k]) => k === 'ufrag')?.[1];
    if (ufrag !== undefined && this.#remoteCreds && ufrag !== this.#remoteCreds.ufrag) return;
    if (isMdnsCandidate(cand)) {
      if (!this.#mdns) return;
      this.#pendingRemote++;
      void this.#mdns.resolve(cand.address).then((ip) => {
        this.#pendingRemote--;
        if (ip !== undefined && !this.#closed) this.#addRemote(cand, ip);
        this.#evaluate();
      });
      return;
    }
    this.#addRemote(cand, undefined);
  }

  /** Begin connectivity checks (needs remote credentials; candidates may trickle in any time). */
  start(): void {
    this.#assertOpen();
    if (this.#started) return;
    this.#started = true;
    this.#startedAt = this.clock.now();
    this.#setState('checking');
    this.#schedulePacing();
    this.#evaluate();
  }

  /** Send a datagram on the selected pair. Returns false when there is none or it was dropped. */
  send(data: Uint8Array): boolean {
    const p = this.#selected;
    if (!p || this.#closed || this.#state === 'failed') return false;
    const base = this.#bases.get(p.local.baseId);
    if (!base) return false;
    const ok = base.send(data, this.#remoteAddr(p.remote));
    if (ok) {
      p.packetsSent++;
      p.bytesSent += data.length;
      p.lastPacketSentTimestamp = this.clock.wallNow();
    }
    return ok;
  }

  /**
   * ICE restart (RFC 8445 §9): new local credentials, the peer's candidates and credentials are
   * forgotten until it signals new ones, local candidates are announced again under the new
   * ufrag. The selected pair keeps carrying data until a new pair is selected.
   */
  restart(credentials?: IceCredentials): void {
    this.#assertOpen();
    this.#localCreds = credentials ?? randomCredentials();
    this.#remoteCreds = undefined;
    this.#remoteLite = false;
    this.#transactions.cancelChecks();
    this.#checklist.clear();
    this.#remotes = [];
    this.#valid.clear();
    this.#validOf.clear();
    this.#nominating = undefined;
    this.#firstValidAt = undefined;
    this.#remoteEndOfCandidates = false;
    this.#nominationTimer?.cancel();
    this.#noPairTimer?.cancel();
    this.#noPairTimer = undefined;
    let keep = this.#selected;
    if (this.#state === 'failed') {
      // Consent was lost: the old pair may not carry data any more.
      this.#consent.stop();
      this.#selected = undefined;
      keep = undefined;
      this.#state = 'checking';
      this.emit('statechange', 'checking');
    }
    if (keep) this.#valid.set(keep.id, keep);
    this.#restarting = keep !== undefined;
    if (this.#started && !keep) this.#setState('checking');
    this.#startedAt = this.clock.now();
    if (this.#gatheringState === 'complete') {
      // Re-announce host and relay candidates under the new ufrag and ask the STUN servers again
      // (the NAT may have changed its mappings, which is often why a restart happens).
      this.#locals = this.#locals.filter((c) => c.type === 'host' || c.type === 'relay');
      this.#setGatheringState('gathering');
      for (const c of this.#locals) this.#announce(c);
      void this.#gatherer.gatherReflexive().then(() => {
        if (this.#closed) return;
        this.#setGatheringState('complete');
        this.emit('candidate', null);
        this.#evaluate();
      });
    }
  }
  #restarting = false;
  /** The agent failed because every check did (not because consent was lost). */
  #failedByChecks = false;

  /** Stop everything: cancel timers, close sockets, release TURN allocations. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#transactions.clear();
    this.#pacer.stop();
    this.#nominationTimer?.cancel();
    this.#consent.stop();
    this.#noPairTimer?.cancel();
    this.#gatherer.close();
    for (const b of this.#bases.values()) b.close();
    this.#bases.clear();
    this.#mdns?.close();
    this.#setState('closed');
  }

  /** W3C-shaped statistics: local-candidate, remote-candidate and candidate-pair entries. */
  getStats(): IceStats[] {
    return collectStats(
      this.#locals,
      this.#remotes,
      this.pairs,
      this.#selected,
      this.#localCreds,
      this.#remoteCreds,
      this.clock.wallNow(),
    );
  }

  // ---------------------------------------------------------------- used by the gatherer

  /** @internal A new base (socket or allocation) is ready. */
  addBase(base: Base): void {
    if (this.#closed) {
      base.close();
      return;
    }
    this.#bases.set(base.id, base);
  }

  /** @internal A base is gone (a TURN allocation replaced by a new one). */
  removeBase(id: string): void {
    this.#bases.delete(id);
    this.#locals = this.#locals.filter((l) => l.baseId !== id);
    for (const p of this.#checklist.pairs) {
      if (p.local.baseId !== id) continue;
      this.#transactions.cancelPair(p);
      p.state = 'failed';
    }
    this.#evaluate();
  }

  /** @internal A datagram arrived on a base. */
  handlePacket(baseId: string, data: Uint8Array, from: TransportAddress): void {
    if (this.#closed) return;
    const b0 = data[0];
    if (b0 !== undefined && b0 < 4 && data.length >= 20) {
      let msg: ParsedStunMessage;
      try {
        msg = parseStunMessage(data);
      } catch {
        this.droppedPackets++;
        return;
      }
      try {
        this.#onStun(baseId, msg, from);
      } catch (err) {
        // A ParseError from an attribute: drop the message.
        if ((err as { code?: string }).code?.startsWith('ERR_')) this.droppedPackets++;
        else throw err;
      }
      return;
    }
    const pair = this.#pairFor(baseId, from);
    if (!pair) {
      this.droppedPackets++;
      return;
    }
    pair.packetsReceived++;
    pair.bytesReceived += data.length;
    pair.lastPacketReceivedTimestamp = this.clock.wallNow();
    this.emit('data', data, pair);
  }

  /** @internal Register a STUN transaction sent by the gatherer from a host base. */
  expectServerResponse(tid: Uint8Array, handler: ServerResponseHandler | undefined): void {
    const k = toHex(tid);
    if (handler) this.#serverTransactions.set(k, handler);
    else this.#serverTransactions.delete(k);
  }

  /** @internal A gathered local candidate: announce it and pair it with the remotes. */
  addLocalCandidate(
    c: Omit<LocalCandidate, 'id' | 'foundation' | 'priority' | 'component'> & {
      localPreference: number;
      server?: string;
    },
  ): LocalCandidate | undefined {
    if (this.#closed) return undefined;
    if (
      this.#locals.some(
        (l) => l.type === c.type && l.address === c.address && l.port === c.port && l.protocol === c.protocol,
      )
    ) {
      return undefined;
    }
    const { localPreference, server, ...rest } = c;
    const local: LocalCandidate = {
      ...rest,
      id: `RTCIceCandidate_L${++this.#localCandidateSeq}`,
      component: COMPONENT_RTP,
      foundation: computeFoundation(c.type, c.baseAddress, c.protocol, server),
      priority: computePriority(c.type, localPreference, COMPONENT_RTP, c.protocol, c.tcpType),
    };
    this.#locals.push(local);
    this.#announce(local);
    for (const r of this.#remotes) this.#checklist.add(local, r, this.#controlling);
    this.#schedulePacing();
    return local;
  }

  /** @internal */
  reportCandidateError(e: IceAgentEvents['candidateerror'][0]): void {
    this.emit('candidateerror', e);
  }

  /** @internal */
  get closed(): boolean {
    return this.#closed;
  }

  // ---------------------------------------------------------------- internals

  #assertOpen(): void {
    if (this.#closed) throw new StateError('ERR_ICE_CLOSED', 'ICE agent is closed');
  }

  #newTieBreaker(): bigint {
    return (BigInt(this.random.u32()) << 32n) | BigInt(this.random.u32());
  }

  #announce(c: LocalCandidate): void {
    this.emit('candidate', announcement(c, this.#localCreds.ufrag, this.options.mdnsResponder));
  }

  #addRemote(c: Candidate, resolvedAddress: string | undefined): RemoteCandidate | undefined {
    const addr = resolvedAddress ?? c.address;
    const dup = this.#remotes.find(
      (r) => r.protocol === c.protocol && (r.resolvedAddress ?? r.address) === addr && r.port === c.port,
    );
    if (dup) {
      if (dup.type === 'prflx' && c.type !== 'prflx') {
        promoteToSignaled(dup, c, resolvedAddress);
        this.#checklist.recompute(this.#controlling);
        for (const p of this.#valid.values()) p.updatePriority(this.#controlling);
      }
      return dup;
    }
    const remote: RemoteCandidate = {
      ...c,
      id: `RTCIceCandidate_R${++this.#remoteCandidateSeq}`,
      ...(resolvedAddress !== undefined ? { resolvedAddress } : {}),
    };
    this.#remotes.push(remote);
    for (const l of this.#locals) this.#checklist.add(l, remote, this.#controlling);
    this.#schedulePacing();
    this.#evaluate();
    return remote;
  }

  #remoteAddr(r: RemoteCandidate): TransportAddress {
    return { address: r.resolvedAddress ?? r.address, port: r.port };
  }

  #pairFor(baseId: string, from: TransportAddress): CandidatePair | undefined {
    const s = this.#selected;
    if (
      s &&
      s.local.baseId === baseId &&
      s.remote.port === from.port &&
      (s.remote.resolvedAddress ?? s.remote.address) === from.address
    ) {
      return s;
    }
    for (const p of this.#valid.values()) {
      if (
        p.local.baseId === baseId &&
        p.remote.port === from.port &&
        (p.remote.resolvedAddress ?? p.remote.address) === from.address
      ) {
        return p;
      }
    }
    return this.#checklist.find(baseId, from.address, from.port);
  }

  #setState(s: IceTransportState): void {
    if (this.#state === s) return;
    if (this.#state === 'closed') return;
    this.log.debug('ice state', { from: this.#state, to: s });
    if (s !== 'failed') this.#failedByChecks = false;
    this.#state = s;
    this.emit('statechange', s);
  }

  #setGatheringState(s: IceGatheringState): void {
    if (this.#gatheringState === s) return;
    this.#gatheringState = s;
    this.emit('gatheringstatechange', s);
  }

  #setRole(controlling: boolean): void {
    if (this.#controlling === controlling) return;
    this.#controlling = controlling;
    this.#checklist.recompute(controlling);
    for (const p of this.#valid.values()) p.updatePriority(controlling);
    this.emit('rolechange', this.role);
  }

  // ---- pacing (RFC 8445 §6.1.4.2): one check per Ta for the whole agent

  /** After nomination (and outside a restart) only triggered checks are sent. */
  get #checksDone(): boolean {
    return this.#selected?.nominated === true && !this.#restarting;
  }

  #hasCheckWork(): boolean {
    return this.#checksDone ? this.#checklist.hasTriggered : this.#checklist.hasPendingWork;
  }

  #schedulePacing(): void {
    if (this.#closed || !this.#started || !this.#remoteCreds || !this.#hasCheckWork()) return;
    this.#pacer.schedule();
  }

  #onTa(): void {
    if (this.#closed || !this.#remoteCreds) return;
    const next = this.#checksDone
      ? ((t) => t && { pair: t, triggered: true })(this.#checklist.nextTriggered())
      : this.#checklist.next();
    if (!next) return; // frozen pairs behind a busy foundation: the end of that check re-arms
    const p = next.pair;
    if (next.triggered) {
      // A triggered check of a pair that already succeeded is only needed to nominate it, and one
      // whose check went out since it was queued (sent at once, see #onRequest) not at all.
      const needed =
        (p.state !== 'succeeded' && p.state !== 'in-progress') ||
        (this.#controlling && p.useCandidate && !p.nominated);
      if (needed) this.#sendCheck(p);
    } else if (p.state === 'waiting' || p.state === 'frozen') {
      this.#sendCheck(p);
    } else {
      return;
    }
    this.#schedulePacing();
  }

  #sendCheck(pair: CandidatePair, consent = false): void {
    const creds = this.#remoteCreds;
    if (!creds) {
      // The peer's credentials are not known yet (its checks can beat our remote description): keep
      // the pair queued; pacing sends its check once they are (RFC 8445 §7.3.1.4, RFC 8838 §10).
      if (!consent && pair.state !== 'succeeded') {
        pair.state = 'waiting';
        this.#checklist.trigger(pair);
      }
      return;
    }
    const base = this.#bases.get(pair.local.baseId);
    if (!base) {
      if (!consent) pair.state = 'failed';
      return;
    }
    if (!consent) {
      // A succeeded pair checked again (nomination) stays succeeded.
      if (pair.state !== 'succeeded') pair.state = 'in-progress';
      this.#pacer.sent();
    }
    const useCandidate = !consent && this.#controlling && pair.useCandidate;
    const tid = this.random.bytes(12);
    // RFC 8445 §7.2.2: PRIORITY is what a prflx candidate learned from this check would get.
    const priority = computePriority(
      'prflx',
      (pair.local.priority >>> 8) & 0xffff,
      COMPONENT_RTP,
      pair.local.protocol,
      pair.local.tcpType,
    );
    const bytes = serializeCheckRequest({
      username: `${creds.ufrag}:${this.#localCreds.ufrag}`,
      password: creds.pwd,
      priority,
      controlling: this.#controlling,
      tieBreaker: this.#tieBreaker,
      useCandidate,
      transactionId: tid,
    });
    this.#transactions.start({
      tid,
      pair,
      bytes,
      password: creds.pwd,
      controlling: this.#controlling,
      useCandidate,
      consent,
      priority,
    });
  }

  #transmit(t: CheckTransaction): void {
    const base = this.#bases.get(t.pair.local.baseId);
    if (!base || this.#closed) return;
    base.send(t.bytes, this.#remoteAddr(t.pair.remote));
    const p = t.pair;
    p.requestsSent++;
    if (t.consent) p.consentRequestsSent++;
    p.lastRequestTimestamp = this.clock.wallNow();
    p.lastPacketSentTimestamp = p.lastRequestTimestamp;
  }

  #pairFailed(p: CandidatePair): void {
    p.state = 'failed';
    this.#schedulePacing();
    if (this.#nominating === p) this.#nominating = undefined;
    this.#evaluate();
    this.#maybeNominate();
  }

  // ---- STUN input

  #onStun(baseId: string, msg: ParsedStunMessage, from: TransportAddress): void {
    if (msg.method !== METHOD.BINDING) {
      this.droppedPackets++;
      return;
    }
    if (msg.cls === 'request') {
      this.#onRequest(baseId, msg, from);
      return;
    }
    if (msg.cls === 'indication') return; // keepalive
    const k = toHex(msg.transactionId);
    const server = this.#serverTransactions.get(k);
    if (server) {
      this.#serverTransactions.delete(k);
      server(msg, from);
      return;
    }
    const t = this.#transactions.get(k);
    if (!t) return;
    this.#onResponse(t, baseId, msg, from);
  }

  #onRequest(baseId: string, msg: ParsedStunMessage, from: TransportAddress): void {
    const base = this.#bases.get(baseId);
    if (!base) return;
    const check = readCheck(msg);
    // RFC 8445 §7.3: USERNAME "<our ufrag>:<their ufrag>", MESSAGE-INTEGRITY with our password.
    const [lufrag, rufrag] = check.username.split(':');
    if (lufrag !== this.#localCreds.ufrag || !hasValidIntegrity(msg, this.#localCreds.pwd)) {
      this.droppedPackets++;
      if (msg.integrityOffset >= 0 || msg.integritySha256Offset >= 0) {
        base.send(serializeCheckError(msg.transactionId, ERROR.UNAUTHORIZED, 'Unauthorized'), from);
      } else {
        base.send(serializeCheckError(msg.transactionId, ERROR.BAD_REQUEST, 'Bad Request'), from);
      }
      return;
    }
    if (this.#remoteCreds && rufrag !== undefined && rufrag !== this.#remoteCreds.ufrag) {
      // A check from the peer's previous generation after a restart: answer but do not pair.
      base.send(serializeCheckSuccess(msg.transactionId, from, this.#localCreds.pwd), from);
      return;
    }
    // RFC 8445 §7.3.1.1 role conflict.
    const conflict = resolveRoleConflict(
      this.#controlling,
      this.#tieBreaker,
      check.controlling,
      check.controlled,
    );
    if (conflict === 'reject') {
      base.send(
        serializeCheckError(msg.transactionId, ERROR.ROLE_CONFLICT, 'Role Conflict', this.#localCreds.pwd),
        from,
      );
      return;
    }
    if (conflict === 'switch') this.#setRole(!this.#controlling);
    base.send(serializeCheckSuccess(msg.transactionId, from, this.#localCreds.pwd), from);

    // Find or learn the remote candidate (RFC 8445 §7.3.1.3: peer-reflexive).
    let remote = this.#remotes.find(
      (r) =>
        r.protocol === base.protocol &&
        (r.resolvedAddress ?? r.address) === from.address &&
        r.port === from.port,
    );
    if (!remote) {
      remote = this.#addRemote(
        remotePeerReflexive(from, base, check.priority ?? 0, this.#remoteCandidateSeq),
        undefined,
      );
      if (!remote) return;
    }
    let pair = this.#checklist.find(baseId, from.address, from.port);
    if (!pair) {
      const local = this.#locals.find(
        (l) => l.baseId === baseId && (l.type === 'host' || l.type === 'relay'),
      );
      if (!local) return;
      // The request arrived on this path: pair it even where pairing heuristics would not.
      pair = this.#checklist.add(local, remote, this.#controlling, true);
      if (!pair) return;
    }
    pair.requestsReceived++;
    pair.responsesSent++;
    pair.lastPacketReceivedTimestamp = this.clock.wallNow();
    // RFC 8445 §7.3.1.4 triggered check (also for a pair in progress: the peer's request may just
    // have opened the NAT binding our earlier check hit).
    if ((pair.state === 'waiting' || pair.state === 'frozen') && this.#started && this.#remoteCreds) {
      // Never checked: the peer just proved the path, so check it at once (bounded: once per
      // pair); pacing applies to the checks after it.
      this.#sendCheck(pair);
    } else if (pair.state !== 'succeeded') {
      pair.state = 'waiting';
      this.#checklist.trigger(pair);
    }
    // RFC 8445 §7.3.1.5 nomination by the controlling peer.
    if (!this.#controlling && check.useCandidate) {
      if (pair.state === 'succeeded') this.#nominate(this.#validOf.get(pair) ?? pair);
      else pair.nominateOnSuccess = true;
    }
    this.#schedulePacing();
  }

  #onResponse(t: CheckTransaction, baseId: string, msg: ParsedStunMessage, from: TransportAddress): void {
    // Responses carry integrity with the remote password (RFC 8445 §7.2.5.1).
    if (!hasValidIntegrity(msg, t.password)) {
      this.droppedPackets++;
      return;
    }
    this.#transactions.finish(t);
    const p = t.pair;
    const now = this.clock.now();
    const rtt = (now - t.sentAt) / 1000;
    p.responsesReceived++;
    p.lastResponseTimestamp = this.clock.wallNow();
    p.lastPacketReceivedTimestamp = p.lastResponseTimestamp;
    p.currentRoundTripTime = rtt;
    p.totalRoundTripTime += rtt;
    p.roundTripTimeMeasurements++;
    // RFC 8445 §7.2.5.2.1: non-symmetric addresses fail the check.
    const remote = this.#remoteAddr(p.remote);
    if (baseId !== p.local.baseId || from.address !== remote.address || from.port !== remote.port) {
      if (!t.consent) this.#pairFailed(p);
      return;
    }
    if (t.consent) {
      if (msg.cls === 'success') this.#onConsent(p);
      return;
    }
    if (msg.cls === 'error') {
      const err = read.errorCode(msg);
      if (err?.code === ERROR.ROLE_CONFLICT) {
        // RFC 8445 §7.2.5.1: switch role (if we have not already) and retry the check.
        if (t.controlling === this.#controlling) {
          this.#setRole(!this.#controlling);
          this.#tieBreaker = this.#newTieBreaker();
        }
        p.state = 'waiting';
        this.#checklist.trigger(p);
        this.#schedulePacing();
        return;
      }
      this.#pairFailed(p);
      return;
    }
    const mapped = read.xorMappedAddress(msg);
    if (!mapped) {
      this.#pairFailed(p);
      return;
    }
    p.state = 'succeeded';
    this.#checklist.unfreezeFoundation(p.foundation);
    this.#schedulePacing();
    // RFC 8445 §7.2.5.3.1: the mapped address may reveal a local peer-reflexive candidate.
    let local = this.#locals.find(
      (l) => l.baseId === p.local.baseId && l.address === mapped.address && l.port === mapped.port,
    );
    if (!local) {
      local = localPeerReflexive(
        `RTCIceCandidate_L${++this.#localCandidateSeq}`,
        p.local,
        mapped,
        t.priority,
      );
      this.#locals.push(local);
    }
    let valid = p;
    if (local !== p.local) {
      const key = `${local.id}_${p.remote.id}`;
      valid = this.#valid.get(key) ?? new CandidatePair(local, p.remote, this.#controlling);
      valid.state = 'succeeded';
    }
    valid.valid = true;
    this.#valid.set(valid.id, valid);
    this.#validOf.set(p, valid);
    if (valid !== p) {
      valid.currentRoundTripTime = rtt;
      valid.totalRoundTripTime += rtt;
      valid.roundTripTimeMeasurements++;
      valid.responsesReceived++;
    }
    this.#firstValidAt ??= now;
    if (t.useCandidate || (!this.#controlling && p.nominateOnSuccess)) this.#nominate(valid);
    // The first valid pair carries data until nomination picks one (as libwebrtc does: a working
    // path need not wait a round trip for USE-CANDIDATE); nomination then moves it if it differs.
    else if (!this.#selected) this.#select(valid);
    this.#maybeNominate();
    this.#evaluate();
  }

  // ---- nomination (RFC 8445 §8.1)

  #maybeNominate(): void {
    if (!this.#controlling || this.#closed || !this.#started) return;
    if (this.#nominating || (this.#selected?.nominated && !this.#restarting)) return;
    const d = decideNomination({
      validOf: this.#validOf,
      pairs: this.#checklist.pairs,
      waited: this.clock.now() - (this.#firstValidAt ?? 0),
      nominationTimeout: this.options.nominationTimeout,
      relayNominationTimeout: this.options.relayNominationTimeout,
    });
    this.#nominationTimer?.cancel();
    this.#nominationTimer = undefined;
    if (!d) return;
    if ('waitMs' in d) {
      this.#nominationTimer = this.clock.setTimeout(() => {
        this.#nominationTimer = undefined;
        this.#maybeNominate();
      }, d.waitMs);
      return;
    }
    this.#nominating = d.nominate;
    d.nominate.useCandidate = true;
    // The nominating check goes out now rather than at the next Ta tick: the pair is proven and
    // the peer selects it on receipt; it still counts for pacing (the next new check waits Ta).
    this.#sendCheck(d.nominate);
  }

  #nominate(valid: CandidatePair): void {
    valid.nominated = true;
    if (this.#nominating && this.#validOf.get(this.#nominating) === valid) this.#nominating = undefined;
    const cur = this.#selected;
    // Controlling: keep the best of what we nominated. Controlled: follow the controlling agent's
    // latest nomination (renomination, as Chromium does when it finds a better pair): it moves its
    // media and consent checks there and lets the old pair go, and consent on a pair the peer has
    // abandoned would expire and fail the connection.
    if (
      this.#controlling &&
      cur &&
      cur !== valid &&
      cur.nominated &&
      !this.#restarting &&
      cur.priority >= valid.priority
    )
      return;
    this.#select(valid);
  }

  #select(pair: CandidatePair): void {
    const changed = this.#selected !== pair;
    this.#selected = pair;
    this.#restarting = false;
    if (this.#controlling && pair.nominated) {
      // RFC 8445 §8.1.2: checks for this component stop once the controlling agent nominated.
      this.#transactions.cancelChecks();
    }
    if (changed) {
      this.#selectedChanges++;
      this.#bases.get(pair.local.baseId)?.selected?.(this.#remoteAddr(pair.remote));
      this.log.info('selected pair', { pair: pair.toString() });
      this.emit('selectedpairchange', pair);
    }
    this.#consent.start();
    this.#evaluate(true);
  }

  // ---- consent freshness (RFC 7675)

  #onConsent(p: CandidatePair): void {
    if (p !== this.#selected) return;
    this.#consent.refreshed();
    if (this.#state === 'disconnected') this.#evaluate(true);
  }

  // ---- overall state

  #evaluate(recovering = false): void {
    if (this.#closed || !this.#started) return;
    // 'failed' from exhausted checks gives way to a pair that validates later (a peer's request
    // revived one, as libwebrtc recovers); 'failed' from lost consent stays until a restart.
    if (this.#state === 'failed' && !(recovering && this.#failedByChecks && this.#selected)) return;
    if (this.#state === 'disconnected' && !recovering) return;
    if (this.#selected) {
      const done =
        this.#gatheringState === 'complete' &&
        this.#remoteEndOfCandidates &&
        this.#pendingRemote === 0 &&
        this.#selected.nominated;
      this.#setState(done && this.#selected.nominated ? 'completed' : 'connected');
      return;
    }
    const exhausted =
      this.#gatheringState === 'complete' &&
      this.#remoteEndOfCandidates &&
      this.#pendingRemote === 0 &&
      this.#valid.size === 0 &&
      !this.#nominating;
    if (!exhausted) return;
    if (this.#checklist.pairs.length > 0 && this.#checklist.allFailed()) {
      this.#failedByChecks = true;
      this.#setState('failed');
      return;
    }
    if (this.#checklist.pairs.length === 0 && !this.#noPairTimer) {
      const wait = this.options.noPairTimeout ?? 10_000;
      this.#noPairTimer = this.clock.setTimeout(
        () => {
          if (this.#checklist.pairs.length === 0 && !this.#selected && !this.#closed) {
            this.#failedByChecks = true;
            this.#setState('failed');
          }
        },
        Math.max(0, this.#startedAt + wait - this.clock.now()),
      );
    }
  }
}
