/**
 * A private redis-server for tests: Debian's package (installed with apt-get when missing and running as root),
 * on a free 127.0.0.1 port, in its own temp directory, without persistence, so a restart comes back empty like a
 * lost Redis. Tests that need it register through `redisTest`: skipped with the reason printed when no
 * redis-server can be had, failed instead under REQUIRE_REDIS=1 or REQUIRE_ENGINE=1 (CI).
 */
import { test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../runtime/free-port.ts";
import { pollUntil } from "./wait.ts";

const required = process.env.REQUIRE_REDIS === "1" || process.env.REQUIRE_ENGINE === "1";

/** Runs a command to its end; its output is returned, never printed. */
async function run(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; output: string }> {
  const child = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, output: `${out}${err}`.trim() };
}

/** The redis-server binary, installing Debian's package first when it is missing; else why there is none. */
async function findOrInstall(): Promise<{ path: string } | { reason: string }> {
  const found = Bun.which("redis-server");
  if (found) return { path: found };
  if (process.getuid?.() !== 0) return { reason: "redis-server is not installed and the tests do not run as root to apt-get it" };
  if (!Bun.which("apt-get")) return { reason: "redis-server is not installed and there is no apt-get to install it" };
  console.log("[redis] installing Debian's redis-server (apt-get install --no-install-recommends redis-server)");
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  const install = ["apt-get", "-o", "DPkg::Lock::Timeout=120", "install", "-y", "--no-install-recommends", "redis-server"];
  let result = await run(install, env);
  // A fresh machine may have no package lists yet.
  if (result.code !== 0) {
    await run(["apt-get", "-o", "DPkg::Lock::Timeout=120", "update"], env);
    result = await run(install, env);
  }
  const path = Bun.which("redis-server");
  if (result.code === 0 && path) return { path };
  return { reason: `apt-get install redis-server failed (exit ${result.code}): ${result.output.split("\n").slice(-3).join(" / ")}` };
}

const found = await findOrInstall();
/** The redis-server binary tests start, or undefined when none could be had (see `redisTest`). */
export const redisServerPath: string | undefined = "path" in found ? found.path : undefined;

/** `test` when redis-server is available; otherwise a skip with the reason, or a failure when it is required. */
export function redisTest(name: string, fn: () => Promise<void>, timeoutMs?: number): void {
  if (redisServerPath) return void test(name, fn, timeoutMs);
  const reason = "reason" in found ? found.reason : "redis-server unavailable";
  if (required) {
    test(name, () => {
      throw new Error(`REQUIRE_REDIS=1 (or REQUIRE_ENGINE=1) but ${reason}`);
    });
  } else {
    console.warn(`[skip] ${name}: ${reason}`);
    test.skip(name, fn);
  }
}

/** One private redis-server; `kill` and `restart` are for fault tests, `stop` ends it and removes its directory. */
export interface TestRedis {
  /** `redis://127.0.0.1:PORT/0` */
  readonly url: string;
  readonly port: number;
  /** The pid of the server running now (changes on restart); undefined while it is down. */
  readonly pid: number | undefined;
  /** SIGKILLs the server (a crash: clients see the connection drop) and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts the server again on the same port, empty (no persistence), and waits until it answers. */
  restart(): Promise<void>;
  /** Kills the server this harness started and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

/** Whether something accepts TCP connections on 127.0.0.1:`port` and answers PING. */
async function answersPing(port: number): Promise<boolean> {
  try {
    const reply = await new Promise<string>((resolve, reject) => {
      let data = "";
      void Bun.connect({
        hostname: "127.0.0.1",
        port,
        socket: {
          open: (socket) => void socket.write("PING\r\n"),
          data: (socket, chunk) => {
            data += Buffer.from(chunk).toString();
            if (data.includes("\r\n")) {
              socket.end();
              resolve(data);
            }
          },
          error: (_socket, error) => reject(error),
          connectError: (_socket, error) => reject(error),
          close: () => resolve(data),
        },
      }).catch(reject);
    });
    return reply.startsWith("+PONG");
  } catch {
    return false;
  }
}

/** Starts a private redis-server on a free loopback port and resolves once it answers PING. */
export async function startRedis(): Promise<TestRedis> {
  if (!redisServerPath) throw new Error("redis-server is not available (see redisTest)");
  const binary = redisServerPath;
  const dir = mkdtempSync(join(tmpdir(), "te-redis-"));
  const port = await freePort();
  let child: ReturnType<typeof Bun.spawn> | undefined;
  let stopped = false;

  const launch = async () => {
    child = Bun.spawn(
      [
        binary,
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        dir,
        "--protected-mode",
        "yes",
        "--loglevel",
        "warning",
      ],
      { cwd: dir, stdout: "ignore", stderr: "pipe" },
    );
    const started = child;
    await pollUntil(async () => (await answersPing(port)) || started.exitCode !== null, `redis-server on 127.0.0.1:${port}`, 10_000, 20);
    if (started.exitCode !== null) {
      const err = await new Response(started.stderr as ReadableStream).text();
      throw new Error(`redis-server exited with ${started.exitCode} at start: ${err.trim().slice(0, 500)}`);
    }
  };

  const kill = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    running.kill("SIGKILL");
    await running.exited;
  };

  await launch();
  return {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    get pid() {
      return child && child.exitCode === null ? child.pid : undefined;
    },
    kill,
    restart: async () => {
      if (stopped) throw new Error("this redis-server was stopped for good");
      await kill();
      await launch();
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
