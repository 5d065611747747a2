/**
 * Lab helper process: from ONE UDP socket, ask each reflector (udp-echo.ts) which source address it
 * sees; prints JSON {"local": port, "mapped": {"ip:port": "ip:port" | null}}. Retries each probe a
 * few times (real networks drop), gives up after TIMEOUT_MS per target.
 *   node --import tsx test/natlab/udp-probe.ts [--local-port N] 203.0.113.1:7000 203.0.113.2:7001
 */
import dgram from 'node:dgram';
import { parseAddress } from '../../src/core/net.js';

const args = process.argv.slice(2);
let localPort = 0;
const i = args.indexOf('--local-port');
if (i >= 0) {
  localPort = Number(args[i + 1]);
  args.splice(i, 2);
}
const TIMEOUT_MS = 1500;
const s = dgram.createSocket('udp4');
await new Promise<void>((resolve) => s.bind(localPort, resolve));
const mapped: Record<string, string | null> = {};
for (const spec of args) {
  const target = parseAddress(spec);
  mapped[spec] = await new Promise<string | null>((resolve) => {
    const onMessage = (msg: Buffer, from: dgram.RemoteInfo): void => {
      if (from.address !== target.address || from.port !== target.port) return;
      finish(msg.toString());
    };
    const resend = setInterval(() => s.send('probe', target.port, target.address), 250);
    const timer = setTimeout(() => finish(null), TIMEOUT_MS);
    const finish = (v: string | null): void => {
      clearInterval(resend);
      clearTimeout(timer);
      s.off('message', onMessage);
      resolve(v);
    };
    s.on('message', onMessage);
    s.send('probe', target.port, target.address);
  });
}
process.stdout.write(`${JSON.stringify({ local: s.address().port, mapped })}\n`);
s.close();
