/**
 * The processes the bench starts and stops by pid: the production gateway (`bun app/main.ts`, configured only
 * through its environment) and the local realtime stand-in. Each gateway gets a unique GATEWAY_NAME; after it
 * stops, any container still carrying that label is removed, so a run leaves nothing behind.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { poolMemberIds } from "../app/routing/instance-ids.ts";
import { LABEL_GATEWAY } from "../runtime/driver.ts";
import { type HostTicks, parseHostTicks } from "../transcriber/host-cpu.ts";
import { procStatCpuMs } from "../transcriber/load-meter.ts";
import { forEachLine } from "./lines.ts";

const ROOT = join(import.meta.dir, "..");
let gateways = 0;

export interface GatewayProcess {
  pid: number;
  port: number;
  name: string;
  listenUrl: string;
  stats(): Promise<any>;
  /** Resident set size of the gateway process, KiB. */
  rssKiB(): number;
  /** Waits until /stats shows every listed instance running; returns their endpoints. */
  waitRunning(ids: readonly string[], timeoutMs?: number): Promise<{ host: string; port: number }[]>;
  stop(): Promise<void>;
}

/**
 * Starts the gateway as its own process with `env` over bench defaults (loopback, free port, unique name);
 * `bunArgs` go to bun itself (e.g. `--cpu-prof`).
 */
export async function startGateway(env: Record<string, string>, bunArgs: string[] = []): Promise<GatewayProcess> {
  const name = `bench-${process.pid}-${++gateways}`;
  const child: Subprocess<"ignore", "pipe", "inherit"> = Bun.spawn([process.execPath, ...bunArgs, join(ROOT, "app", "main.ts")], {
    cwd: ROOT,
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", GATEWAY_NAME: name, LOG_LEVEL: "info", ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "inherit",
  });
  const tail: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    let found = false;
    // The port comes from the info-level "gateway listening" line; LOG_LEVEL above info would hide it.
    const timer = setTimeout(() => !found && reject(new Error(`gateway did not report its port within 60 s: ${tail.join("\n")}`)), 60_000);
    void (async () => {
      // Keeps reading for the whole life of the process: a full pipe would stall the gateway.
      await forEachLine(child.stdout, (line) => {
        tail.push(line);
        if (tail.length > 20) tail.shift();
        if (!found && line.includes('"gateway listening"')) {
          found = true;
          clearTimeout(timer);
          resolve(JSON.parse(line).port);
        }
      });
      if (!found) reject(new Error(`gateway exited ${await child.exited}: ${tail.join("\n")}`));
    })();
  });
  const httpUrl = `http://127.0.0.1:${port}`;
  const stats = async () => (await fetch(`${httpUrl}/stats`)).json();
  return {
    pid: child.pid,
    port,
    name,
    listenUrl: `ws://127.0.0.1:${port}/v1/listen`,
    stats,
    rssKiB: () => rssKiB(child.pid),
    async waitRunning(ids, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const doc = await stats();
        const wanted = doc.instances.filter((i: any) => ids.includes(i.id));
        if (wanted.length === ids.length && wanted.every((i: any) => i.state === "running")) {
          return ids.map((id) => {
            const [host, p] = wanted.find((i: any) => i.id === id).endpoint.split(":");
            return { host, port: Number(p) };
          });
        }
        const failed = wanted.find((i: any) => i.state === "failed");
        if (failed) throw new Error(`${failed.id} failed: ${failed.lastError}`);
        await Bun.sleep(100);
      }
      throw new Error(`instances ${ids.join(", ")} not running after ${timeoutMs} ms`);
    },
    async stop() {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      await child.exited;
      clearTimeout(timer);
      removeLeftovers(name);
    },
  };
}

/** CPU time (user + system) a process has used so far, ms; robust to other load on the machine, unlike latency. */
export function cpuMs(pid: number): number {
  return procStatCpuMs(`/proc/${pid}/stat`);
}

/** Resident set size of a process, KiB. */
export function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? Number.NaN);
}

/** The machine's 1, 5 and 15 minute load averages. */
export function loadAverage(): number[] {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number);
}

/** The machine's CPU time so far (`/proc/stat`, in ticks): all of it, and what the hypervisor stole from this VM. */
export function cpuTicks(): HostTicks {
  const ticks = parseHostTicks(readFileSync("/proc/stat", "utf8"));
  if (!ticks) throw new Error("/proc/stat has no aggregate cpu line");
  return ticks;
}

/** Percent of the machine's CPU time the hypervisor stole between two `cpuTicks()` readings. */
export function stealPct(before: HostTicks, after: HostTicks): number {
  const total = after.total - before.total;
  return total > 0 ? Math.round((1000 * (after.steal - before.steal)) / total) / 10 : 0;
}

/**
 * The machine's admission off (HOST_CPU_MAX=1): the data-path measurements fill this machine on purpose, and open
 * their sessions all at once on a machine their last round loaded, which the gateway's projection refuses; a
 * refusal would end the run, not measure it. The runs past capacity (capacity-overload.ts) keep the defaults.
 */
export const ADMISSION_OFF = { HOST_CPU_MAX: "1" } as const;

/**
 * The gateway environment every data-path measurement uses: a pool of `containers` Podman transcribers on host
 * networking (their Unix sockets, loopback), all started at boot and kept up for the whole run, the machine's
 * admission off; `extra` adds to it.
 */
export function prewarmedPoolEnv(containers: number, extra: Record<string, string>): Record<string, string> {
  return {
    ...ADMISSION_OFF,
    ROUTING_MODE: "pool",
    CONTAINER_POOL_SIZE: String(containers),
    MAX_INSTANCES: String(containers),
    POOL_PREWARM: "true",
    CONTAINER_DRIVER: "podman",
    CONTAINER_NETWORK: "host",
    SLEEP_AFTER: "1h",
    ...extra,
  };
}

/** The pool members' instance ids, in member order. */
export function poolIds(containers: number): string[] {
  return poolMemberIds(containers);
}

/** The local `podman system service` process, if one runs here (the engine API the gateway talks to). */
export function podmanServicePid(): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = (() => {
      try {
        return readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      } catch {
        return [];
      }
    })();
    if (argv[0]?.endsWith("podman") && argv.includes("system") && argv.includes("service")) return Number(entry);
  }
  return undefined;
}

/** Removes containers still labelled with this gateway's name (none after a clean shutdown). */
export function removeLeftovers(gatewayName: string): number {
  if (!Bun.which("podman")) return 0;
  const list = Bun.spawnSync(["podman", "ps", "-aq", "--filter", `label=${LABEL_GATEWAY}=${gatewayName}`]);
  const ids = list.stdout.toString().split("\n").filter(Boolean);
  if (ids.length > 0) Bun.spawnSync(["podman", "rm", "-f", ...ids], { stdout: "ignore", stderr: "ignore" });
  return ids.length;
}

export interface StandinProcess {
  pid: number;
  baseUrl: string;
  caFile: string;
  stop(): Promise<void>;
}

/** The transcriber settings that point it at `standin` (the openai backend, its key, URL and CA). */
export function standinEnv(standin: Pick<StandinProcess, "baseUrl" | "caFile">): Record<string, string> {
  return { TRANSCRIBER_BACKEND: "openai", OPENAI_API_KEY: "standin-key", OPENAI_BASE_URL: standin.baseUrl, OPENAI_CA_FILE: standin.caFile };
}

/** The local OpenAI Realtime stand-in as its own process (`bun standin/main.ts`). */
export async function startStandin(bunArgs: string[] = []): Promise<StandinProcess> {
  const child = Bun.spawn([process.execPath, ...bunArgs, join(ROOT, "standin", "main.ts")], {
    cwd: ROOT,
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1" },
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("stand-in exited before listening");
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  void child.stdout.pipeTo(new WritableStream()).catch(() => undefined);
  const info = JSON.parse(text.split("\n")[0]!);
  return {
    pid: child.pid,
    baseUrl: info.baseUrl,
    caFile: info.caFile,
    async stop() {
      child.kill("SIGTERM");
      await child.exited;
    },
  };
}
