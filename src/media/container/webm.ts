/**
 * A streaming WebM (Matroska) writer for encoded frames: VP8, VP9, AV1 and H264 video, Opus
 * audio. The Segment has unknown size (live recording); each Cluster is written whole when the
 * next one starts (on a video keyframe, or when the 16-bit block offset would overflow), with
 * SimpleBlocks (Matroska §10.2: track vint, int16 timestamp offset, flags with 0x80 = keyframe).
 * H264 frames are given in Annex-B and stored length-prefixed; its track needs the avcC
 * CodecPrivate (`avcConfigFromAnnexB`), and the file is then Matroska rather than WebM.
 */
import { concatBytes } from '../../core/bytes.js';
import { annexBToLengthPrefixed } from './annexb.js';
import { binary, float, master, masterStart, str, uint, vint } from './ebml.js';

/** Matroska element IDs (RFC 9559 §5.1). */
const ID = {
  EBML: 0x1a45dfa3,
  EBMLVersion: 0x4286,
  EBMLReadVersion: 0x42f7,
  EBMLMaxIDLength: 0x42f2,
  EBMLMaxSizeLength: 0x42f3,
  DocType: 0x4282,
  DocTypeVersion: 0x4287,
  DocTypeReadVersion: 0x4285,
  Segment: 0x18538067,
  Info: 0x1549a966,
  TimestampScale: 0x2ad7b1,
  MuxingApp: 0x4d80,
  WritingApp: 0x5741,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackUID: 0x73c5,
  TrackType: 0x83,
  FlagLacing: 0x9c,
  CodecID: 0x86,
  CodecPrivate: 0x63a2,
  CodecDelay: 0x56aa,
  SeekPreRoll: 0x56bb,
  Video: 0xe0,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  Audio: 0xe1,
  SamplingFrequency: 0xb5,
  Channels: 0x9f,
  Cluster: 0x1f43b675,
  Timestamp: 0xe7,
  SimpleBlock: 0xa3,
} as const;

export type WebmCodec = 'vp8' | 'vp9' | 'av1' | 'h264' | 'opus';

export interface WebmTrack {
  readonly codec: WebmCodec;
  readonly width?: number;
  readonly height?: number;
  readonly channels?: number;
  /** CodecPrivate (OpusHead for Opus is generated when absent; avcC for H264; av1C for AV1). */
  readonly codecPrivate?: Uint8Array;
}

const CODEC_ID: Record<WebmCodec, string> = {
  vp8: 'V_VP8',
  vp9: 'V_VP9',
  av1: 'V_AV1',
  h264: 'V_MPEG4/ISO/AVC',
  opus: 'A_OPUS',
};

function opusHead(channels: number): Uint8Array {
  const b = Buffer.alloc(19);
  b.write('OpusHead', 0, 'latin1');
  b[8] = 1;
  b[9] = channels;
  b.writeUInt16LE(312, 10);
  b.writeUInt32LE(48000, 12);
  return new Uint8Array(b.buffer, b.byteOffset, 19);
}

export class WebmWriter {
  readonly #sink: (chunk: Uint8Array) => void;
  readonly #tracks: readonly WebmTrack[];
  #cluster: Uint8Array[] = [];
  #clusterStart = -1;
  #closed = false;
  /** Frames written per track (1-based track numbers: index + 1). */
  readonly frames: number[];

  constructor(sink: (chunk: Uint8Array) => void, tracks: readonly WebmTrack[]) {
    if (tracks.length === 0) throw new RangeError('a WebM file needs a track');
    this.#sink = sink;
    this.#tracks = tracks;
    this.frames = tracks.map(() => 0);
    const header = master(ID.EBML, [
      uint(ID.EBMLVersion, 1),
      uint(ID.EBMLReadVersion, 1),
      uint(ID.EBMLMaxIDLength, 4),
      uint(ID.EBMLMaxSizeLength, 8),
      str(ID.DocType, tracks.some((t) => t.codec === 'h264') ? 'matroska' : 'webm'),
      uint(ID.DocTypeVersion, 4),
      uint(ID.DocTypeReadVersion, 2),
    ]);
    const info = master(ID.Info, [
      uint(ID.TimestampScale, 1_000_000), // timestamps in milliseconds
      str(ID.MuxingApp, 'rtcstack'),
      str(ID.WritingApp, 'rtcstack'),
    ]);
    const entries = tracks.map((t, i) => {
      const audio = t.codec === 'opus';
      const priv = t.codecPrivate ?? (audio ? opusHead(t.channels ?? 2) : undefined);
      return master(ID.TrackEntry, [
        uint(ID.TrackNumber, i + 1),
        uint(ID.TrackUID, i + 1),
        uint(ID.TrackType, audio ? 2 : 1),
        uint(ID.FlagLacing, 0),
        str(ID.CodecID, CODEC_ID[t.codec]),
        ...(priv ? [binary(ID.CodecPrivate, priv)] : []),
        ...(audio ? [uint(ID.CodecDelay, 6_500_000), uint(ID.SeekPreRoll, 80_000_000)] : []),
        audio
          ? master(ID.Audio, [float(ID.SamplingFrequency, 48000), uint(ID.Channels, t.channels ?? 2)])
          : master(ID.Video, [uint(ID.PixelWidth, t.width ?? 640), uint(ID.PixelHeight, t.height ?? 480)]),
      ]);
    });
    this.#sink(concatBytes([header, masterStart(ID.Segment), info, master(ID.Tracks, entries)]));
  }

  /**
   * Add a frame. `track` is 1-based, `timestampMs` from the start of the recording (must not go
   * backwards by more than the cluster allows; frames of one track should be in order).
   */
  writeFrame(track: number, timestampMs: number, data: Uint8Array, keyframe: boolean): void {
    if (this.#closed) throw new Error('WebM writer closed');
    const t = this.#tracks[track - 1];
    if (!t) throw new RangeError(`no track ${track}`);
    const ts = Math.max(0, Math.round(timestampMs));
    const video = t.codec !== 'opus';
    const hasVideo = this.#tracks.some((x) => x.codec !== 'opus');
    const rel = ts - this.#clusterStart;
    if (
      this.#clusterStart < 0 ||
      rel > 32767 ||
      rel < -32768 ||
      (video && keyframe && rel > 0) ||
      (!hasVideo && rel > 5000)
    ) {
      this.#flushCluster();
      this.#clusterStart = ts;
      this.#cluster.push(uint(ID.Timestamp, ts));
    }
    const offset = ts - this.#clusterStart;
    if (t.codec === 'h264') data = annexBToLengthPrefixed(data);
    const head = concatBytes([
      vint(track),
      Uint8Array.of((offset >> 8) & 0xff, offset & 0xff, keyframe ? 0x80 : 0),
    ]);
    this.#cluster.push(binary(ID.SimpleBlock, concatBytes([head, data])));
    this.frames[track - 1]!++;
  }

  #flushCluster(): void {
    if (this.#cluster.length === 0) return;
    this.#sink(master(ID.Cluster, this.#cluster));
    this.#cluster = [];
  }

  close(): void {
    if (this.#closed) return;
    this.#flushCluster();
    this.#closed = true;
  }
}
