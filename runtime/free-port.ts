import { createServer } from "node:net";

/**
 * Asks the kernel for a free TCP port on `host` by binding port 0 and releasing it. Another process could take
 * it before the transcriber binds it; the start then fails its health wait and the instance retries on the next
 * acquire, which is cheaper than coordinating ports across drivers.
 */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("could not allocate a free port"))));
    });
  });
}
