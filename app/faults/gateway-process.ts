/**
 * Test helper: the gateway as an operator runs it, `bun app/main.ts` in its own process, so tests can signal
 * it (SIGTERM, SIGKILL) and give it its own DOCKER_HOST. Its JSON log lines are collected as they arrive.
 */
import { freePort } from "../../runtime/free-port.ts";
import { Notifier } from "../../test/wait.ts";

export interface GatewayProcess {
  readonly pid: number;
  readonly port: number;
  readonly gatewayName: string;
  /** `ws://127.0.0.1:PORT/v1/listen` */
  readonly listenUrl: string;
  readonly httpUrl: string;
  /** Every JSON log line so far. */
  readonly logs: Array<Record<string, any>>;
  /** Resolves with the exit code. */
  readonly exited: Promise<number>;
  /** Resolves with the first log line `match` accepts; rejects after `timeoutMs`. */
  waitForLog(match: (line: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>;
  stats(): Promise<any>;
  kill(signal: "SIGTERM" | "SIGKILL"): void;
}

const ROOT = `${import.meta.dir}/../..`;

/**
 * Starts `bun app/main.ts` on a free loopback port (or `options.port`: a restart behind a load balancer keeps its
 * address) with `env` and resolves once it logs "gateway listening".
 */
export async function spawnGateway(env: Record<string, string>, options: { port?: number } = {}): Promise<GatewayProcess> {
  const port = options.port ?? (await freePort());
  const gatewayName = env.GATEWAY_NAME ?? `faults-${process.pid}-${port}`;
  const child = Bun.spawn([process.execPath, "app/main.ts"], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/root",
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      TESTCONTAINERS_RYUK_DISABLED: "true",
      ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
      // The image this test run built (ensureImage), not whatever another checkout tagged as the default.
      ...(process.env.TRANSCRIBER_IMAGE ? { TRANSCRIBER_IMAGE: process.env.TRANSCRIBER_IMAGE } : {}),
      ...env,
      PORT: String(port),
      GATEWAY_NAME: gatewayName,
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  const logs: Array<Record<string, any>> = [];
  const changes = new Notifier(() =>
    logs
      .slice(-5)
      .map((l) => l.msg)
      .join(" | "),
  );
  void (async () => {
    let rest = "";
    const reader = (child.stdout as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += decoder.decode(value, { stream: true });
      const lines = rest.split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        try {
          logs.push(JSON.parse(line));
        } catch {
          logs.push({ msg: line });
        }
      }
      changes.notify();
    }
  })();
  const stderr = new Response(child.stderr).text();
  const exited = child.exited.then(async (code) => {
    changes.notify();
    const text = (await stderr).trim();
    if (text && code !== 0) console.warn(`[gateway ${gatewayName}] stderr: ${text.slice(0, 2000)}`);
    return code;
  });
  const waitForLog: GatewayProcess["waitForLog"] = (match, timeoutMs = 20_000) =>
    Promise.race([
      changes.until(() => logs.find(match), timeoutMs, "a log line"),
      exited.then(async (code) => {
        await Bun.sleep(100); // the last lines may still be on their way
        const found = logs.find(match);
        if (found) return found;
        throw new Error(`gateway exited with ${code} before the log line`);
      }),
    ]);
  const httpUrl = `http://127.0.0.1:${port}`;
  const gateway: GatewayProcess = {
    pid: child.pid,
    port,
    gatewayName,
    listenUrl: `ws://127.0.0.1:${port}/v1/listen`,
    httpUrl,
    logs,
    exited,
    waitForLog,
    stats: async () => (await fetch(`${httpUrl}/stats`)).json(),
    kill: (signal) => child.kill(signal),
  };
  try {
    await waitForLog((l) => l.msg === "gateway listening", 30_000);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  return gateway;
}

/** Headers of a WebSocket upgrade request, for asserting the HTTP refusal before it. */
export const UPGRADE_HEADERS = {
  upgrade: "websocket",
  connection: "Upgrade",
  "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
  "sec-websocket-version": "13",
};

/** The HTTP answer to an upgrade request (no WebSocket is opened when it is refused). */
export async function tryUpgrade(listenUrl: string, query: string): Promise<{ status: number; retryAfter: string | null; body: string }> {
  const response = await fetch(`${listenUrl.replace(/^ws:/, "http:")}?${query}`, { headers: UPGRADE_HEADERS });
  const body = response.status === 101 ? "" : await response.text();
  return { status: response.status, retryAfter: response.headers.get("retry-after"), body };
}
