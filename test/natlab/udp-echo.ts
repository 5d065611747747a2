/**
 * Lab helper process: a UDP reflector answering each datagram with the source address it saw
 * ("ip:port"), on every ADDRESS:PORT given. Prints "ready" when all are bound; exits on SIGTERM.
 *   node --import tsx test/natlab/udp-echo.ts 203.0.113.1:7000 203.0.113.1:7001
 */
import dgram from 'node:dgram';
import { parseAddress } from '../../src/core/net.js';

const sockets = await Promise.all(
  process.argv.slice(2).map(
    (spec) =>
      new Promise<dgram.Socket>((resolve, reject) => {
        const { address, port } = parseAddress(spec);
        const s = dgram.createSocket('udp4');
        s.on('message', (_msg, from) => s.send(`${from.address}:${from.port}`, from.port, from.address));
        s.once('error', reject);
        s.bind(port, address, () => resolve(s));
      }),
  ),
);
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  for (const s of sockets) s.close();
  process.exit(0);
});
