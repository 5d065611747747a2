/**
 * The picture size a keyframe declares, read from its bitstream header, for containers that state
 * it (WebM's PixelWidth/PixelHeight). VP8 (RFC 6386 §9.1) and VP9 (the uncompressed header of the
 * VP9 bitstream specification, §6.2); other codecs, or bytes that are not such a keyframe, give
 * undefined. A probe, not a parser: it never throws.
 */
export interface FrameSize {
  readonly width: number;
  readonly height: number;
}

/** RFC 6386 §9.1: the start code after a keyframe's 3-byte frame tag. */
const VP8_START_CODE = [0x9d, 0x01, 0x2a] as const;
/** VP9 §6.2: frame_sync_code of a keyframe. */
const VP9_SYNC_CODE = 0x498342;
/** VP9 §7.2: color_space value for RGB (no color_range or subsampling bits follow). */
const VP9_CS_RGB = 7;

export function keyframeSize(codec: string, frame: Uint8Array): FrameSize | undefined {
  switch (codec.toLowerCase()) {
    case 'vp8':
      return vp8Size(frame);
    case 'vp9':
      return vp9Size(frame);
    default:
      return undefined;
  }
}

function vp8Size(f: Uint8Array): FrameSize | undefined {
  // Frame tag bit 0 is 0 on keyframes; then the start code, then 14-bit width and height (the top
  // two bits of each are the scaling mode).
  if (f.length < 10 || (f[0]! & 1) !== 0) return undefined;
  if (f[3] !== VP8_START_CODE[0] || f[4] !== VP8_START_CODE[1] || f[5] !== VP8_START_CODE[2])
    return undefined;
  const width = (f[6]! | (f[7]! << 8)) & 0x3fff;
  const height = (f[8]! | (f[9]! << 8)) & 0x3fff;
  return width && height ? { width, height } : undefined;
}

/** VP9: every field up to frame_height_minus_1 fits in the first 10 bytes (at most 73 bits). */
const VP9_HEADER_BYTES = 10;

function vp9Size(f: Uint8Array): FrameSize | undefined {
  if (f.length < VP9_HEADER_BYTES) return undefined;
  let bit = 0;
  const read = (n: number): number => {
    let v = 0;
    for (let i = 0; i < n; i++, bit++) {
      v = (v << 1) | ((f[bit >>> 3]! >>> (7 - (bit & 7))) & 1);
    }
    return v >>> 0;
  };
  if (read(2) !== 2) return undefined; // frame_marker
  const low = read(1);
  const profile = (read(1) << 1) | low;
  if (profile === 3) read(1); // reserved_zero
  if (read(1) === 1) return undefined; // show_existing_frame
  if (read(1) !== 0) return undefined; // frame_type: not a keyframe
  read(2); // show_frame, error_resilient_mode
  if (read(24) !== VP9_SYNC_CODE) return undefined;
  if (profile >= 2) read(1); // ten_or_twelve_bit
  if (read(3) !== VP9_CS_RGB) {
    read(1); // color_range
    if (profile === 1 || profile === 3) read(3); // subsampling_x, subsampling_y, reserved_zero
  } else if (profile === 1 || profile === 3) read(1); // reserved_zero
  return { width: read(16) + 1, height: read(16) + 1 };
}
