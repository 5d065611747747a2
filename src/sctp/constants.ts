/** Wire constants of SCTP as WebRTC uses it. */

// Chunk types, RFC 9260 §3.2 unless noted.
export const CHUNK_DATA = 0;
export const CHUNK_INIT = 1;
export const CHUNK_INIT_ACK = 2;
export const CHUNK_SACK = 3;
export const CHUNK_HEARTBEAT = 4;
export const CHUNK_HEARTBEAT_ACK = 5;
export const CHUNK_ABORT = 6;
export const CHUNK_SHUTDOWN = 7;
export const CHUNK_SHUTDOWN_ACK = 8;
export const CHUNK_ERROR = 9;
export const CHUNK_COOKIE_ECHO = 10;
export const CHUNK_COOKIE_ACK = 11;
export const CHUNK_SHUTDOWN_COMPLETE = 14;
/** RFC 8260 §2.1 */
export const CHUNK_I_DATA = 64;
/** RFC 6525 §3.1 */
export const CHUNK_RE_CONFIG = 130;
/** RFC 3758 §3.2 */
export const CHUNK_FORWARD_TSN = 192;
/** RFC 8260 §2.3 */
export const CHUNK_I_FORWARD_TSN = 194;

// INIT / INIT ACK parameters, RFC 9260 §3.3.2.1 and extensions.
export const PARAM_HEARTBEAT_INFO = 1;
export const PARAM_STATE_COOKIE = 7;
export const PARAM_UNRECOGNIZED = 8;
export const PARAM_COOKIE_PRESERVATIVE = 9;
export const PARAM_SUPPORTED_ADDRESS_TYPES = 12;
/** RFC 6525 §4.1-4.6 (inside RE-CONFIG) */
export const PARAM_OUTGOING_SSN_RESET = 13;
export const PARAM_INCOMING_SSN_RESET = 14;
export const PARAM_SSN_TSN_RESET = 15;
export const PARAM_RECONFIG_RESPONSE = 16;
export const PARAM_ADD_OUTGOING_STREAMS = 17;
export const PARAM_ADD_INCOMING_STREAMS = 18;
/** RFC 9653 §3 */
export const PARAM_ZERO_CHECKSUM_ACCEPTABLE = 0x8001;
/** RFC 5061 §4.2.7 */
export const PARAM_SUPPORTED_EXTENSIONS = 0x8008;
/**
 * rtcstack's own INIT parameter (a type in the "skip, do not report" range, RFC 9260 §3.2.1, so other
 * stacks ignore it): the largest SCTP packet the sender accepts (u32). Some peers cannot take packets
 * over ~2 KB at all (Chromium stops receiving after one), so PLPMTUD probes past the configured MTU
 * only towards a peer that announced it.
 */
export const PARAM_MAX_PACKET_ACCEPTED = 0x8f71;
/** RFC 3758 §3.1 */
export const PARAM_FORWARD_TSN_SUPPORTED = 0xc000;

/** RFC 9653 §3: error detection method "DTLS" (RFC 8261 lower layer). */
export const ZERO_CHECKSUM_EDMID_DTLS = 1;

// Error causes, RFC 9260 §3.3.10.
export const CAUSE_INVALID_STREAM = 1;
export const CAUSE_MISSING_PARAM = 2;
export const CAUSE_STALE_COOKIE = 3;
export const CAUSE_OUT_OF_RESOURCE = 4;
export const CAUSE_UNRECOGNIZED_CHUNK = 6;
export const CAUSE_INVALID_MANDATORY_PARAM = 7;
export const CAUSE_UNRECOGNIZED_PARAMS = 8;
export const CAUSE_NO_USER_DATA = 9;
export const CAUSE_USER_ABORT = 12;
export const CAUSE_PROTOCOL_VIOLATION = 13;

// RE-CONFIG response results, RFC 6525 §4.4.
export const RECONFIG_SUCCESS_NOTHING = 0;
export const RECONFIG_SUCCESS_PERFORMED = 1;
export const RECONFIG_DENIED = 2;
export const RECONFIG_ERROR_WRONG_SSN = 3;
export const RECONFIG_ERROR_IN_PROGRESS = 4;
export const RECONFIG_ERROR_BAD_SEQ = 5;
export const RECONFIG_IN_PROGRESS = 6;

/** Common header size, RFC 9260 §3.1. */
export const COMMON_HEADER_SIZE = 12;
/** DATA chunk header (type..PPID), RFC 9260 §3.3.1. */
export const DATA_HEADER_SIZE = 16;
/** I-DATA chunk header, RFC 8260 §2.1. */
export const I_DATA_HEADER_SIZE = 20;
