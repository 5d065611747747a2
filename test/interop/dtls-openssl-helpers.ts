/**
 * Helpers for DTLS interop tests against the OpenSSL CLI: temp cert files, a child process whose
 * output we can wait on, and a UDP port picker. Every process is killed by its PID.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certificateToPem, type DtlsCertificate } from '../../src/dtls/certificate.js';

export interface OpensslProcess {
  readonly child: ChildProcessWithoutNullStreams;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolve when output matches (or reject after timeoutMs of real time: this is a real process). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  write(text: string): void;
  kill(): Promise<void>;
}

export function startOpenssl(args: string[]): OpensslProcess {
  const child = spawn('openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (b: Buffer): void => {
    out += b.toString('latin1');
    for (const w of [...waiters]) w();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  child.stdin.on('error', () => {});
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.on('exit', () => {
      exited = true;
      for (const w of [...waiters]) w();
      resolve();
    }),
  );
  return {
    child,
    output: () => out,
    waitFor(re, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const m = re.exec(out);
          if (m) {
            done();
            resolve(m);
          } else if (exited) {
            done();
            reject(new Error(`openssl exited before ${re}; output:\n${out}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timeout waiting for ${re}; output:\n${out}`));
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    write(text) {
      if (!exited) child.stdin.write(text);
    },
    async kill() {
      if (!exited && child.pid !== undefined) {
        process.kill(child.pid, 'SIGKILL');
        await exit;
      }
    },
  };
}

/** `openssl s_server -dtls1_2` on 127.0.0.1:`port` with the given certificate, plus `extra` flags. */
export function opensslServer(port: number, files: CertFiles, extra: string[] = []): OpensslProcess {
  return startOpenssl([
    's_server',
    '-dtls1_2',
    '-accept',
    `127.0.0.1:${port}`,
    '-cert',
    files.cert,
    '-key',
    files.key,
    ...extra,
  ]);
}

/**
 * `openssl s_client -dtls1_2` from 127.0.0.1:`localPort` (bound, so the peer knows it beforehand) to
 * 127.0.0.1:`port` with the given certificate, plus `extra` flags.
 */
export function opensslClient(
  port: number,
  localPort: number,
  files: CertFiles,
  extra: string[] = [],
): OpensslProcess {
  return startOpenssl([
    's_client',
    '-dtls1_2',
    '-connect',
    `127.0.0.1:${port}`,
    '-bind',
    `127.0.0.1:${localPort}`,
    '-cert',
    files.cert,
    '-key',
    files.key,
    ...extra,
  ]);
}

export interface CertFiles {
  readonly dir: string;
  readonly cert: string;
  readonly key: string;
  cleanup(): void;
}

export function writeCertFiles(c: DtlsCertificate): CertFiles {
  const dir = mkdtempSync(join(tmpdir(), 'rtcs-dtls-'));
  const pem = certificateToPem(c);
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  writeFileSync(cert, pem.cert);
  writeFileSync(key, pem.key);
  return { dir, cert, key, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** OpenSSL's names for the SRTP profiles (as in `-use_srtp`). */
export const OPENSSL_SRTP: Record<string, string> = {
  SRTP_AES128_CM_HMAC_SHA1_80: 'SRTP_AES128_CM_SHA1_80',
  SRTP_AES128_CM_HMAC_SHA1_32: 'SRTP_AES128_CM_SHA1_32',
  SRTP_AEAD_AES_128_GCM: 'SRTP_AEAD_AES_128_GCM',
  SRTP_AEAD_AES_256_GCM: 'SRTP_AEAD_AES_256_GCM',
};

/** OpenSSL cipher names for our suites. */
export const OPENSSL_CIPHERS: Record<string, string> = {
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
};
