/**
 * Node <-> Node file transfer over a data channel, with backpressure: the sender keeps at most
 * 1 MiB queued (bufferedAmount) and refills on `bufferedamountlow`; the receiver checks SHA-256.
 *
 *   npx tsx examples/file-transfer.ts [FILE]      (default: 8 MiB of random bytes)
 *
 * Both peers live in this process and signal each other directly; swap the direct calls for any
 * signaling channel (see chat-over-serve.ts) to run them on two machines.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { RTCPeerConnection } from 'rtcstack';

const file = process.argv[2] ? readFileSync(process.argv[2]) : randomBytes(8 * 1024 * 1024);
const CHUNK = 64 * 1024;
const HIGH = 1024 * 1024;

// On one machine the loopback interface is the path; between machines drop includeLoopback.
const sender = new RTCPeerConnection({}, { includeLoopback: true });
const receiver = new RTCPeerConnection({}, { includeLoopback: true });
sender.onicecandidate = (e) => void receiver.addIceCandidate(e.candidate ?? undefined);
receiver.onicecandidate = (e) => void sender.addIceCandidate(e.candidate ?? undefined);

const done = new Promise<string>((resolve) => {
  receiver.ondatachannel = ({ channel }) => {
    const hash = createHash('sha256');
    let got = 0;
    channel.onmessage = (e) => {
      const data = Buffer.from((e as MessageEvent).data as ArrayBuffer);
      hash.update(data);
      got += data.length;
      if (got >= file.length) resolve(hash.digest('hex'));
    };
  };
});

const channel = sender.createDataChannel('file');
channel.bufferedAmountLowThreshold = HIGH / 2;
let offset = 0;
const pump = (): void => {
  while (offset < file.length && channel.bufferedAmount < HIGH) {
    channel.send(file.subarray(offset, offset + CHUNK));
    offset += CHUNK;
  }
};
channel.onopen = pump;
channel.onbufferedamountlow = pump;

const t0 = performance.now();
await sender.setLocalDescription();
await receiver.setRemoteDescription(sender.localDescription!);
await receiver.setLocalDescription();
await sender.setRemoteDescription(receiver.localDescription!);

const received = await done;
const seconds = (performance.now() - t0) / 1000;
const sent = createHash('sha256').update(file).digest('hex');
console.log(
  `${file.length} bytes in ${seconds.toFixed(2)} s (${(file.length / seconds / 1e6).toFixed(1)} MB/s)`,
);
console.log(received === sent ? `sha-256 matches: ${sent}` : `MISMATCH: sent ${sent}, received ${received}`);
sender.close();
receiver.close();
process.exitCode = received === sent ? 0 : 1;
