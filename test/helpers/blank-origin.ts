import { createServer } from 'node:http';

/**
 * An empty page on http://127.0.0.1 (a secure context, which getUserMedia needs) for Chromium pages
 * to navigate to; `origin` ends with '/'.
 */
export async function startBlankOrigin(): Promise<{ origin: string; close: () => void }> {
  const server = createServer((_q, r) => r.end('<html></html>'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const origin = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/`;
  return { origin, close: () => server.close() };
}
