/**
 * Publishing our own host candidates under mDNS names (draft-ietf-mmusic-mdns-ice-candidates), as
 * browsers do to keep local addresses private: each host address gets a random `<uuid>.local` name
 * and a responder answers A/AAAA queries for it (RFC 6762). Queries from a port other than 5353
 * ("legacy unicast", §6.7) get a unicast answer to the querier; others a multicast answer.
 *
 * The responder listens on a `UdpSocket` from the `Network`: on the real network that is
 * 0.0.0.0:5353 joined to 224.0.0.251 (see `bindMulticastMdns`), in tests a loopback port.
 */
import { randomUUID } from 'node:crypto';
import dgram from 'node:dgram';
import { isInputError } from '../core/errors.js';
import type { TransportAddress, UdpSocket } from '../core/net.js';
import {
  addressRecordData,
  type DnsMessage,
  MDNS_IPV4,
  parseDnsMessage,
  serializeDnsMessage,
} from './mdns.js';

/** RFC 6762 §10: TTL for records with host names. */
export const MDNS_HOST_TTL = 120;

export class MdnsResponder {
  readonly #socket: UdpSocket;
  readonly #names = new Map<string, string>();
  readonly #byAddress = new Map<string, string>();
  answered = 0;
  parseErrors = 0;

  constructor(socket: UdpSocket) {
    this.#socket = socket;
    socket.onMessage = (d, from) => this.#onMessage(d, from);
  }

  /** Where the responder listens. */
  get socketAddress(): TransportAddress {
    return this.#socket.local;
  }

  /** The `.local` name for an address (the same name each time for the same address). */
  register(address: string): string {
    const known = this.#byAddress.get(address);
    if (known) return known;
    const name = `${randomUUID()}.local`;
    this.#names.set(name, address);
    this.#byAddress.set(address, name);
    return name;
  }

  #onMessage(data: Uint8Array, from: TransportAddress): void {
    let q: DnsMessage;
    try {
      q = parseDnsMessage(data);
    } catch (err) {
      if (!isInputError(err)) throw err;
      this.parseErrors++;
      return;
    }
    if (q.response) return;
    const answers = [];
    for (const question of q.questions) {
      const address = this.#names.get(question.name.toLowerCase());
      if (address === undefined) continue;
      const rd = addressRecordData(address);
      if (rd.type !== question.type) continue;
      answers.push({ name: question.name.toLowerCase(), type: rd.type, ttl: MDNS_HOST_TTL, data: rd.data });
    }
    if (answers.length === 0) return;
    this.answered++;
    const legacy = from.port !== MDNS_IPV4.port;
    const reply = serializeDnsMessage({ id: legacy ? q.id : 0, response: true, questions: [], answers });
    this.#socket.send(reply, legacy ? from : MDNS_IPV4);
  }

  close(): void {
    this.#socket.close();
  }
}

/**
 * A real-network socket for the responder: 0.0.0.0:5353 with address reuse, joined to 224.0.0.251.
 * Adapted to the `UdpSocket` shape so `MdnsResponder` stays independent of node:dgram.
 */
export function bindMulticastMdns(): Promise<UdpSocket> {
  const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  return new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(MDNS_IPV4.port, () => {
      sock.off('error', reject);
      sock.on('error', () => {});
      try {
        sock.addMembership(MDNS_IPV4.address);
      } catch {
        /* no multicast route: unicast queries still work */
      }
      let closed = false;
      const s: UdpSocket = {
        local: { address: '0.0.0.0', port: MDNS_IPV4.port },
        get closed() {
          return closed;
        },
        onMessage: null,
        send: (d, to) => {
          if (closed) return false;
          sock.send(d, to.port, to.address);
          return true;
        },
        close: () => {
          if (closed) return;
          closed = true;
          sock.close();
        },
      };
      sock.on('message', (m, r) => s.onMessage?.(m, { address: r.address, port: r.port }));
      resolve(s);
    });
  });
}
