/**
 * The cost of putting audio appends on the wire to the realtime API, WebSocket client against WebSocket client:
 * `bun bench/sections/upstream-wire.ts [--clients=ws,ws-zero-mask,native] [--sessions=150] [--seconds=10]
 * [--rounds=3]`. A TLS WebSocket server in this process (the stand-in's certificate) takes every connection;
 * each client design runs in its own process, all at the same time, each with `sessions` connections sending one
 * append of 80 ms of 24 kHz audio (5,120 base64 characters, the transcriber's batch) every 80 ms. The figure is
 * the client process's CPU time over the sending window per real-time session-second (percent of a core), so a
 * machine loaded by other work loads every design alike.
 */
import { DEFAULT_CERT_DIR, loadOrCreateCert } from "../../standin/cert.ts";
import { loadAverage } from "../procs.ts";
import { arg } from "./capacity-compare.ts";

const APPEND_MS = 80;
const AUDIO = Buffer.alloc((24_000 * 2 * APPEND_MS) / 1000, 7).toString("base64");
const APPEND = `{"type":"input_audio_buffer.append","audio":"${AUDIO}"}`;

/** One client design: opens a connection to `url` trusting `caPem`; resolves once it is open. */
type Connect = (url: string, caPem: string) => Promise<{ send(text: string): void; close(): void }>;

const CLIENTS: Record<string, Connect> = {
  // What the OpenAI SDK's OpenAIRealtimeWS opens: the `ws` package, a random mask per frame.
  ws: (url, ca) => wsClient(url, { ca }),
  // The same with an all-zero mask (ws skips the masking pass and the copy of the string into a buffer).
  "ws-zero-mask": (url, ca) => wsClient(url, { ca, generateMask: (mask: Buffer) => void mask.fill(0) }),
  // Bun's own WebSocket client (what the SDK's OpenAIRealtimeWebSocket uses), with the CA per connection.
  native: (url, ca) =>
    new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { tls: { ca } } as any);
      socket.addEventListener("open", () => resolve({ send: (text) => socket.send(text), close: () => socket.close() }));
      socket.addEventListener("error", () => reject(new Error(`native client could not connect to ${url}`)));
    }),
};

async function wsClient(url: string, options: Record<string, unknown>) {
  const { WebSocket: WsSocket } = await import("ws");
  return new Promise<{ send(text: string): void; close(): void }>((resolve, reject) => {
    const socket = new WsSocket(url, options);
    socket.on("open", () => resolve({ send: (text) => socket.send(text), close: () => socket.close() }));
    socket.on("error", (error) => reject(new Error(`ws client could not connect to ${url}: ${error.message}`)));
  });
}

/** Child: `--client=NAME --url=... --ca=FILE`; prints `{ cpuMs, frames }` as JSON. */
async function runClient(): Promise<void> {
  const name = arg("client", "ws");
  const connect = CLIENTS[name];
  if (!connect) throw new Error(`--client=${name}: not one of ${Object.keys(CLIENTS).join(", ")}`);
  const sessions = Number(arg("sessions", "150"));
  const seconds = Number(arg("seconds", "10"));
  const ca = await Bun.file(arg("ca", "")).text();
  const sockets = await Promise.all(Array.from({ length: sessions }, () => connect(arg("url", ""), ca)));
  const start = performance.now();
  const before = process.cpuUsage();
  let frames = 0;
  // Each session sends on its own 80 ms phase, as sessions opened at different times do.
  const timers = sockets.map((socket, i) =>
    setTimeout(
      () => {
        const tick = () => {
          socket.send(APPEND);
          frames++;
        };
        tick();
        timers[i] = setInterval(tick, APPEND_MS);
      },
      (i * APPEND_MS) / sessions,
    ),
  );
  await Bun.sleep(seconds * 1000);
  for (const timer of timers) clearInterval(timer);
  const used = process.cpuUsage(before);
  const elapsedS = (performance.now() - start) / 1000;
  for (const socket of sockets) socket.close();
  console.log(JSON.stringify({ cpuMs: (used.user + used.system) / 1000, frames, elapsedS }));
  process.exit(0);
}

async function main(): Promise<void> {
  const clients = arg("clients", Object.keys(CLIENTS).join(",")).split(",");
  const sessions = Number(arg("sessions", "150"));
  const seconds = Number(arg("seconds", "10"));
  const rounds = Number(arg("rounds", "3"));
  const { certPem, keyPem, caFile } = await loadOrCreateCert(DEFAULT_CERT_DIR);
  const received = new Map<string, number>();
  const server = Bun.serve<{ client: string }>({
    port: 0,
    hostname: "127.0.0.1",
    tls: { cert: certPem, key: keyPem },
    fetch: (request, srv) =>
      srv.upgrade(request, { data: { client: new URL(request.url).pathname.slice(1) } })
        ? undefined
        : new Response("upgrade only", { status: 426 }),
    websocket: {
      message: (ws) => void received.set(ws.data.client, (received.get(ws.data.client) ?? 0) + 1),
    },
  });
  const results = new Map<string, number[]>(clients.map((c) => [c, []]));
  for (let round = 0; round < rounds; round++) {
    received.clear();
    const runs = clients.map(async (client) => {
      const child = Bun.spawn(
        [
          process.execPath,
          import.meta.path,
          `--client=${client}`,
          `--url=wss://127.0.0.1:${server.port}/${client}`,
          `--ca=${caFile}`,
          `--sessions=${sessions}`,
          `--seconds=${seconds}`,
        ],
        { stdout: "pipe", stderr: "inherit" },
      );
      const out = await new Response(child.stdout).text();
      if ((await child.exited) !== 0) throw new Error(`client ${client} exited with ${child.exitCode}`);
      const { cpuMs, frames, elapsedS } = JSON.parse(out.trim().split("\n").at(-1)!);
      // ms of CPU per real-time session-second / 10 = percent of a core per session.
      results.get(client)!.push(cpuMs / (sessions * elapsedS) / 10);
      return { client, frames };
    });
    const done = await Promise.all(runs);
    await Bun.sleep(200);
    const counts = done.map(({ client, frames }) => `${client} sent ${frames}, server got ${received.get(client) ?? 0}`);
    console.log(`round ${round + 1}/${rounds}: ${counts.join("; ")}`);
  }
  server.stop(true);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = median(results.get(clients[0]!)!);
  console.log(`${sessions} sessions per client, ${seconds} s, ${rounds} rounds; load average ${loadAverage().join(" ")}`);
  for (const [client, xs] of results) {
    console.log(
      `${client}: median ${median(xs).toFixed(4)} % of a core per session (${(median(xs) / base).toFixed(3)}x); all ${xs.map((x) => x.toFixed(4)).join(" ")}`,
    );
  }
}

if (import.meta.main) await (process.argv.some((a) => a.startsWith("--client=")) ? runClient() : main());
