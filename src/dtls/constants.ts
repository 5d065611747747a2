/**
 * Wire constants of DTLS 1.2 (RFC 6347, on TLS 1.2 RFC 5246) and the extensions WebRTC uses.
 */

/** ContentType, RFC 5246 §6.2.1 (and RFC 9147 §4 for ack). */
export const CONTENT_CHANGE_CIPHER_SPEC = 20;
export const CONTENT_ALERT = 21;
export const CONTENT_HANDSHAKE = 22;
export const CONTENT_APPLICATION_DATA = 23;
/** RFC 9147 §7 */
export const CONTENT_ACK = 26;

/** ProtocolVersion on the wire: DTLS 1.0 = {254,255}, DTLS 1.2 = {254,253}, DTLS 1.3 = {254,252} (RFC 6347 §4.1, RFC 9147 §5.3). */
export const DTLS_1_0 = 0xfeff;
export const DTLS_1_2 = 0xfefd;
export const DTLS_1_3 = 0xfefc;

/** Record header length for DTLS 1.2 plaintext headers: type, version, epoch, 48-bit seq, length (RFC 6347 §4.1). */
export const RECORD_HEADER_LENGTH = 13;
/** Handshake header: msg_type, length(24), message_seq(16), fragment_offset(24), fragment_length(24) (RFC 6347 §4.2.2). */
export const HANDSHAKE_HEADER_LENGTH = 12;
/** Largest plaintext a record may carry (RFC 5246 §6.2.1). */
export const MAX_PLAINTEXT = 16384;

/** HandshakeType, RFC 5246 §7.4 and RFC 6347 §4.3.2. */
export const HS_HELLO_REQUEST = 0;
export const HS_CLIENT_HELLO = 1;
export const HS_SERVER_HELLO = 2;
export const HS_HELLO_VERIFY_REQUEST = 3;
export const HS_CERTIFICATE = 11;
export const HS_SERVER_KEY_EXCHANGE = 12;
export const HS_CERTIFICATE_REQUEST = 13;
export const HS_SERVER_HELLO_DONE = 14;
export const HS_CERTIFICATE_VERIFY = 15;
export const HS_CLIENT_KEY_EXCHANGE = 16;
export const HS_FINISHED = 20;

/** ExtensionType values (IANA TLS ExtensionType registry). */
export const EXT_SUPPORTED_GROUPS = 10; // RFC 8422 §5.1.1
export const EXT_EC_POINT_FORMATS = 11; // RFC 8422 §5.1.2
export const EXT_SIGNATURE_ALGORITHMS = 13; // RFC 5246 §7.4.1.4.1
export const EXT_USE_SRTP = 14; // RFC 5764 §4.1.1
export const EXT_EXTENDED_MASTER_SECRET = 23; // RFC 7627 §5.1
export const EXT_SUPPORTED_VERSIONS = 43; // RFC 8446 §4.2.1
export const EXT_RENEGOTIATION_INFO = 0xff01; // RFC 5746 §3.2

/** NamedGroup, RFC 8422 §5.1.1 / RFC 8446 §4.2.7. */
export const GROUP_SECP256R1 = 23;
export const GROUP_X25519 = 29;

/** ECPointFormat uncompressed (RFC 8422 §5.1.2). */
export const POINT_FORMAT_UNCOMPRESSED = 0;
/** ECCurveType named_curve (RFC 8422 §5.4). */
export const CURVE_TYPE_NAMED = 3;

/** SignatureScheme, RFC 8446 §4.2.3 (hash, signature pairs of RFC 5246 §7.4.1.4.1). */
export const SIG_RSA_PKCS1_SHA256 = 0x0401;
export const SIG_RSA_PKCS1_SHA384 = 0x0501;
export const SIG_ECDSA_SECP256R1_SHA256 = 0x0403;
export const SIG_ECDSA_SECP384R1_SHA384 = 0x0503;
export const SIG_RSA_PSS_RSAE_SHA256 = 0x0804;
export const SIG_RSA_PSS_RSAE_SHA384 = 0x0805;

/** ClientCertificateType, RFC 5246 §7.4.4 and RFC 8422 §5.5. */
export const CERT_TYPE_RSA_SIGN = 1;
export const CERT_TYPE_ECDSA_SIGN = 64;

/** AlertLevel and AlertDescription, RFC 5246 §7.2. */
export const ALERT_WARNING = 1;
export const ALERT_FATAL = 2;
export const ALERT_CLOSE_NOTIFY = 0;
export const ALERT_UNEXPECTED_MESSAGE = 10;
export const ALERT_BAD_RECORD_MAC = 20;
export const ALERT_HANDSHAKE_FAILURE = 40;
export const ALERT_BAD_CERTIFICATE = 42;
export const ALERT_UNSUPPORTED_CERTIFICATE = 43;
export const ALERT_CERTIFICATE_UNKNOWN = 46;
export const ALERT_ILLEGAL_PARAMETER = 47;
export const ALERT_DECODE_ERROR = 50;
export const ALERT_DECRYPT_ERROR = 51;
export const ALERT_PROTOCOL_VERSION = 70;
export const ALERT_INSUFFICIENT_SECURITY = 71;
export const ALERT_INTERNAL_ERROR = 80;
export const ALERT_NO_RENEGOTIATION = 100;
export const ALERT_UNSUPPORTED_EXTENSION = 110;

/** SRTPProtectionProfile values, RFC 5764 §4.1.2 and RFC 7714 §14.2. */
export const SRTP_AES128_CM_HMAC_SHA1_80 = 0x0001;
export const SRTP_AES128_CM_HMAC_SHA1_32 = 0x0002;
export const SRTP_AEAD_AES_128_GCM = 0x0007;
export const SRTP_AEAD_AES_256_GCM = 0x0008;
