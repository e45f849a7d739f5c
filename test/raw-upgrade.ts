/** A WebSocket handshake on a raw TCP socket, to read the exact HTTP answer (status, headers, body). */
import net from "node:net";

export interface UpgradeAnswer {
  status: number;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  body: string;
  /** Closes the connection (an accepted upgrade stays open until then). */
  close(): void;
}

/**
 * Sends a WebSocket upgrade request for `url` with extra `headers` and resolves with the answer's head (and,
 * for a refusal, its body). With `upgrade: false` the same GET goes out without the Upgrade headers.
 */
export function rawUpgrade(
  url: string,
  headers: Record<string, string> = {},
  { upgrade = true, timeoutMs = 5000 } = {},
): Promise<UpgradeAnswer> {
  const { hostname, port, pathname, search } = new URL(url);
  const lines = [`GET ${pathname}${search} HTTP/1.1`, `Host: ${hostname}:${port}`];
  if (upgrade)
    lines.push("Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13");
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(`${lines.join("\r\n")}\r\n\r\n`));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to the upgrade of ${url} within ${timeoutMs} ms`));
    }, timeoutMs);
    let received = "";
    socket.on("data", (chunk) => {
      received += chunk.toString("latin1");
      const end = received.indexOf("\r\n\r\n");
      if (end < 0) return;
      const [statusLine, ...headerLines] = received.slice(0, end).split("\r\n");
      const status = Number(statusLine!.split(" ")[1]);
      const parsed: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(":");
        parsed[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = Number(parsed["content-length"] ?? 0);
      const body = received.slice(end + 4);
      if (status !== 101 && body.length < length) return;
      clearTimeout(timer);
      socket.removeAllListeners("data");
      resolve({ status, headers: parsed, body: status === 101 ? "" : body.slice(0, length), close: () => socket.destroy() });
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}
