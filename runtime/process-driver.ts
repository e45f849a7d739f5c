import { existsSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Subprocess } from "bun";
import { transcriberEnvOnly } from "../transcriber/env.ts";
import type { ContainerDriver, ContainerInfo, ContainerSpec, ExitInfo, RunningContainer } from "./driver.ts";
import { freePort } from "./free-port.ts";
import { waitForHealth } from "./health.ts";

/** The project root: runtime/ sits directly under it. */
const PROJECT_ROOT = dirname(import.meta.dir);

/**
 * What a child takes from the gateway's own environment: where Bun finds tools, its home and temp space.
 * Nothing else: the gateway's environment holds its secrets (ADMIN_TOKEN, TOKEN_SECRET, API_KEYS, ...).
 */
const PROCESS_BASICS = ["PATH", "HOME", "TMPDIR", "LANG", "TZ"] as const;

export interface ProcessDriverOptions {
  /** Script each instance runs with this Bun. Default: transcriber/main.ts in the project root. */
  entry?: string;
  /** Working directory of the children. Default: the project root (so node_modules resolve). */
  cwd?: string;
  /** How long a child has to answer `GET /health` 200. */
  startupTimeoutMs?: number;
  /** How long after SIGTERM before SIGKILL. */
  stopTimeoutMs?: number;
  /** Where children write: `inherit` (dev, logs interleave with the gateway's) or `ignore` (tests, benches). */
  stdio?: "inherit" | "ignore";
  /** Where PROCESS_BASICS (PATH, HOME, TMPDIR, ...) are taken from; nothing else of it reaches a child. Default: this process's. */
  baseEnv?: Record<string, string | undefined>;
}

interface Child extends RunningContainer {
  readonly subprocess: Subprocess;
  readonly instanceId: string;
  readonly labels: Record<string, string>;
  readonly createdAtMs: number;
  stopRequested: boolean;
  socketPath?: string;
}

/** How often an adopted process (another gateway's child) is checked for life. */
const ADOPTED_POLL_MS = 500;

/**
 * Each instance is a local `bun transcriber/main.ts` on a free 127.0.0.1 port: the embedded default when no
 * container engine answers. Children share the gateway's process group, so a Ctrl-C or crash of the gateway
 * takes them along, and an exit hook kills any that remain; there is nothing to sweep at start.
 */
export class ProcessDriver implements ContainerDriver {
  readonly name = "process" as const;
  private readonly children = new Set<Child>();
  private readonly entry: string;
  private readonly cwd: string;
  private readonly startupTimeoutMs: number;
  private readonly stopTimeoutMs: number;
  private readonly stdio: "inherit" | "ignore";
  private readonly basics: Record<string, string>;
  private readonly killAllOnExit = () => {
    for (const child of this.children) child.subprocess.kill("SIGKILL");
  };

  constructor(options: ProcessDriverOptions = {}) {
    this.entry = options.entry ?? join(PROJECT_ROOT, "transcriber", "main.ts");
    this.cwd = options.cwd ?? PROJECT_ROOT;
    this.startupTimeoutMs = options.startupTimeoutMs ?? 15_000;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 2_000;
    this.stdio = options.stdio ?? "inherit";
    const baseEnv = options.baseEnv ?? process.env;
    this.basics = {};
    for (const name of PROCESS_BASICS) if (baseEnv[name] !== undefined) this.basics[name] = baseEnv[name]!;
    process.on("exit", this.killAllOnExit);
  }

  async start(spec: ContainerSpec): Promise<RunningContainer> {
    const host = "127.0.0.1";
    const port = await freePort(host);
    const socketPath = join(socketDir(), `${process.pid}-${port}.sock`);
    const subprocess = Bun.spawn([process.execPath, this.entry], {
      cwd: this.cwd,
      // An explicit environment: Bun.spawn would otherwise hand the child the gateway's whole process.env.
      env: { ...this.basics, ...transcriberEnvOnly(spec.env), PORT: String(port), HOST: host, LISTEN_SOCKET: socketPath },
      stdio: ["ignore", this.stdio, this.stdio],
    });
    let settleExited!: (info: ExitInfo) => void;
    const child: Child = {
      id: `pid:${subprocess.pid}`,
      host,
      port,
      subprocess,
      instanceId: spec.instanceId,
      labels: { ...spec.labels },
      createdAtMs: Date.now(),
      stopRequested: false,
      exited: new Promise<ExitInfo>((resolve) => (settleExited = resolve)),
    };
    this.children.add(child);
    const died = subprocess.exited.then(() => describeExit(subprocess));
    died.then((info) => {
      this.children.delete(child);
      rmSync(socketPath, { force: true }); // a crashed child leaves its socket file behind
      if (!child.stopRequested) settleExited(info);
    });
    try {
      await waitForHealth(`http://${host}:${port}/health`, {
        timeoutMs: this.startupTimeoutMs,
        died: died.then((info) => info.reason),
      });
    } catch (error) {
      await this.stop(child);
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(`process driver: instance ${spec.instanceId} (${this.entry}) failed to start: ${message}`);
    }
    // The transcriber opens its socket before TCP, so after /health it exists unless it could not be made.
    if (existsSync(socketPath)) child.socketPath = socketPath;
    return child;
  }

  async stop(container: RunningContainer): Promise<void> {
    const child = [...this.children].find((candidate) => candidate.id === container.id) as Child | undefined;
    if (!child) return;
    child.stopRequested = true;
    child.subprocess.kill("SIGTERM");
    const killTimer = setTimeout(() => child.subprocess.kill("SIGKILL"), this.stopTimeoutMs);
    await child.subprocess.exited;
    clearTimeout(killTimer);
    this.children.delete(child);
    if (child.socketPath) rmSync(child.socketPath, { force: true });
  }

  /** This driver's own children: another process's are not visible to it (they die with their gateway). */
  async list(): Promise<ContainerInfo[]> {
    return [...this.children].map((child) => ({
      id: child.id,
      instanceId: child.instanceId,
      labels: child.labels,
      running: !child.stopRequested,
      endpoint: { host: child.host, port: child.port, ...(child.socketPath ? { socketPath: child.socketPath } : {}) },
      createdAtMs: child.createdAtMs,
    }));
  }

  /** Own children as they are; another process's child (`pid:N`) is watched by polling its pid. */
  adopt(info: ContainerInfo): RunningContainer {
    const own = [...this.children].find((child) => child.id === info.id);
    if (own) return own;
    if (!info.endpoint) throw new Error(`process driver: ${info.id} (${info.instanceId}) has no endpoint to adopt`);
    const pid = pidOf(info.id);
    const exited = new Promise<ExitInfo>((resolve) => {
      const timer = setInterval(() => {
        if (isAlive(pid)) return;
        clearInterval(timer);
        resolve({ exitCode: null, reason: `process ${pid} is gone` });
      }, ADOPTED_POLL_MS);
      timer.unref?.();
    });
    return { id: info.id, ...info.endpoint, exited };
  }

  async remove(id: string): Promise<void> {
    const own = [...this.children].find((child) => child.id === id);
    if (own) return this.stop(own);
    const pid = pidOf(id);
    if (!isAlive(pid)) return;
    process.kill(pid, "SIGTERM");
    const deadline = Date.now() + this.stopTimeoutMs;
    while (isAlive(pid) && Date.now() < deadline) await Bun.sleep(50);
    if (isAlive(pid)) process.kill(pid, "SIGKILL");
  }

  /** Nothing to sweep: children never outlive the gateway (see the class comment). */
  async sweep(): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {
    await Promise.all([...this.children].map((child) => this.stop(child)));
    process.off("exit", this.killAllOnExit);
  }
}

function pidOf(id: string): number {
  const pid = Number(id.replace(/^pid:/, ""));
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`process driver: ${id} is not a process id (pid:N)`);
  return pid;
}

/** Whether a process still exists (signal 0 probes without signalling). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function describeExit(subprocess: Subprocess): ExitInfo {
  const exitCode = subprocess.exitCode;
  const signal = subprocess.signalCode;
  const reason = signal ? `killed by ${signal}` : `exited with code ${exitCode}`;
  return { exitCode, reason };
}

/** Where the children's Unix sockets live: private to this user. */
function socketDir(): string {
  const dir = join(tmpdir(), `transcribe-edge-${process.getuid?.() ?? "user"}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}
