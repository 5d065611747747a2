/** A W3C-style event that carries extra readonly fields (RTCPeerConnectionIceEvent, RTCDataChannelEvent...). */
export function makeEvent<T extends object>(type: string, fields: T): Event & T {
  const ev = new Event(type);
  for (const [k, v] of Object.entries(fields)) Object.defineProperty(ev, k, { value: v, enumerable: true });
  return ev as Event & T;
}
