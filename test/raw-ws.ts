/** A WebSocket client on a raw TCP socket, for clients that misbehave on purpose (e.g. never read). */
import net from "node:net";

/** One masked client frame (RFC 6455 section 5.2): opcode 2 binary, 1 text. */
export function clientFrame(payload: Uint8Array, opcode = 2): Uint8Array {
  const length = payload.byteLength;
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = new Uint8Array(header + 4 + length);
  frame[0] = 0x80 | opcode;
  if (length < 126) frame[1] = 0x80 | length;
  else if (length < 65536) {
    frame[1] = 0x80 | 126;
    new DataView(frame.buffer).setUint16(2, length);
  } else {
    frame[1] = 0x80 | 127;
    new DataView(frame.buffer).setBigUint64(2, BigInt(length));
  }
  const mask = crypto.getRandomValues(new Uint8Array(4));
  frame.set(mask, header);
  for (let i = 0; i < length; i++) frame[header + 4 + i] = payload[i]! ^ mask[i & 3]!;
  return frame;
}

/**
 * Opens a WebSocket to `url` and then stops reading from the socket, so everything the server sends piles up
 * in its own buffers. Resolves with a writer once the 101 arrived.
 */
export function connectNonReading(url: string): Promise<{ write(frame: Uint8Array): boolean; destroy(): void }> {
  const { hostname, port, pathname, search } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => {
      socket.write(
        `GET ${pathname}${search} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      );
    });
    socket.once("data", (head) => {
      if (!head.toString("latin1").startsWith("HTTP/1.1 101")) return reject(new Error(`no upgrade: ${head.toString().split("\r\n")[0]}`));
      socket.pause();
      resolve({ write: (frame) => socket.write(frame), destroy: () => socket.destroy() });
    });
    socket.once("error", reject);
  });
}
