/**
 * Ogg/Opus files (RFC 7845): the OpusHead and OpusTags header packets, packet durations from the
 * TOC byte (RFC 6716 §3.1), and a writer whose granule positions count 48 kHz samples.
 */
import { ByteReader } from '../../core/bytes.js';
import { OggWriter, parseOgg } from './ogg.js';

export interface OpusHead {
  readonly channels: number;
  readonly preSkip: number;
  readonly inputSampleRate: number;
  readonly outputGain: number;
  readonly mappingFamily: number;
}

/** RFC 7845 §5.1 */
export function parseOpusHead(p: Uint8Array): OpusHead {
  const r = new ByteReader(p, 'opus');
  if (String.fromCharCode(...r.bytes(8, 'magic')) !== 'OpusHead') r.fail('magic', 'not OpusHead');
  const version = r.u8('version');
  if (version >> 4 !== 0) r.fail('version', `unsupported version ${version}`);
  const channels = r.u8('channel count');
  const b = r.bytes(8, 'head fields');
  const view = new DataView(b.buffer, b.byteOffset, 8);
  return {
    channels,
    preSkip: view.getUint16(0, true),
    inputSampleRate: view.getUint32(2, true),
    outputGain: view.getInt16(6, true),
    mappingFamily: r.u8('mapping family'),
  };
}

export function serializeOpusHead(h: OpusHead): Uint8Array {
  const b = Buffer.alloc(19);
  b.write('OpusHead', 0, 'latin1');
  b[8] = 1;
  b[9] = h.channels;
  b.writeUInt16LE(h.preSkip, 10);
  b.writeUInt32LE(h.inputSampleRate, 12);
  b.writeInt16LE(h.outputGain, 16);
  b[18] = h.mappingFamily;
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

function opusTags(vendor: string): Uint8Array {
  const v = Buffer.from(vendor);
  const b = Buffer.alloc(8 + 4 + v.length + 4);
  b.write('OpusTags', 0, 'latin1');
  b.writeUInt32LE(v.length, 8);
  v.copy(b, 12);
  b.writeUInt32LE(0, 12 + v.length);
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

/** Samples at 48 kHz in one Opus packet (RFC 6716 §3.1), or 0 for a malformed TOC. */
export function opusPacketSamples(packet: Uint8Array): number {
  if (packet.length === 0) return 0;
  const toc = packet[0]!;
  const config = toc >> 3;
  let frame: number; // in 48 kHz samples
  if (config < 12) frame = [480, 960, 1920, 2880][config & 3]!;
  else if (config < 16) frame = [480, 960][config & 1]!;
  else frame = [120, 240, 480, 960][config & 3]!;
  const c = toc & 3;
  const frames = c === 0 ? 1 : c === 3 ? (packet.length > 1 ? packet[1]! & 0x3f : 0) : 2;
  return frame * frames;
}

export interface OggOpusFile {
  readonly head: OpusHead;
  readonly packets: Uint8Array[];
}

export function parseOggOpus(file: Uint8Array): OggOpusFile {
  const packets = parseOgg(file);
  const first = packets[0];
  if (!first) return new ByteReader(file, 'opus').fail('OpusHead', 'no packets');
  const head = parseOpusHead(first.data);
  const audio = packets.slice(2).filter((p) => p.serial === first.serial);
  return { head, packets: audio.map((p) => p.data) };
}

/** Streams Ogg/Opus: headers first, then one page per packet. */
export class OggOpusWriter {
  readonly #ogg: OggWriter;
  #granule: number;

  constructor(
    sink: (chunk: Uint8Array) => void,
    o: { channels?: number; preSkip?: number; serial?: number } = {},
  ) {
    this.#ogg = new OggWriter(sink, o.serial ?? 0x52544353);
    const preSkip = o.preSkip ?? 312;
    this.#granule = 0;
    this.#ogg.write(
      serializeOpusHead({
        channels: o.channels ?? 2,
        preSkip,
        inputSampleRate: 48000,
        outputGain: 0,
        mappingFamily: 0,
      }),
      0,
    );
    this.#ogg.write(opusTags('rtcstack'), 0);
  }

  /** Append one packet; `samples` (48 kHz) defaults to what its TOC says. */
  write(packet: Uint8Array, samples = opusPacketSamples(packet)): void {
    this.#granule += samples;
    this.#ogg.write(packet, this.#granule);
  }

  /** The end-of-stream page, on a 20 ms packet with an empty frame (decoded as silence/PLC). */
  close(): void {
    this.#granule += 960;
    this.#ogg.write(Uint8Array.of(0xf8), this.#granule, true);
  }

  get granule(): number {
    return this.#granule;
  }
}
