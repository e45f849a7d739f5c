/**
 * HAProxy as the baseline: Debian's package (installed here with apt-get when missing), consistent hashing on
 * the sessionId query parameter in front of the same echo containers the gateway uses, tunnel timeout for
 * the WebSocket. Runs as our own subprocess on 127.0.0.1, stopped by its pid.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort } from "../runtime/free-port.ts";

/** The haproxy binary, installing Debian's package first when it is missing (needs root). */
export async function ensureHaproxy(log: (line: string) => void): Promise<string> {
  const found = Bun.which("haproxy") ?? Bun.which("haproxy", { PATH: "/usr/sbin:/sbin" });
  if (found) return found;
  if (process.getuid?.() !== 0) throw new Error("haproxy is missing and installing it needs root: apt-get install -y haproxy");
  log("haproxy missing: apt-get install -y haproxy");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  let install = Bun.spawnSync(["apt-get", "install", "-y", "--no-install-recommends", "haproxy"], {
    env,
    stdout: "ignore",
    stderr: "pipe",
  });
  if (install.exitCode !== 0) {
    // A fresh machine may have no package lists yet.
    Bun.spawnSync(["apt-get", "update"], { env, stdout: "ignore", stderr: "ignore" });
    install = Bun.spawnSync(["apt-get", "install", "-y", "--no-install-recommends", "haproxy"], { env, stdout: "ignore", stderr: "pipe" });
  }
  const path = Bun.which("haproxy", { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" });
  if (install.exitCode !== 0 || !path)
    throw new Error(`apt-get install haproxy failed: ${install.stderr.toString().trim().split("\n").pop()}`);
  // Debian's package starts its own service on :80 we do not want; our instance runs separately.
  Bun.spawnSync(["sh", "-c", "command -v systemctl >/dev/null && systemctl disable --now haproxy || service haproxy stop || true"], {
    stdout: "ignore",
    stderr: "ignore",
  });
  return path;
}

/** `haproxy -v`'s first line. */
export function haproxyVersion(binary: string): string {
  return Bun.spawnSync([binary, "-v"]).stdout.toString().split("\n")[0]?.trim() ?? "unknown";
}

/** The configuration: the issue's balance url_param sessionId + hash-type consistent + timeout tunnel. */
export function haproxyConfig(port: number, backends: readonly Backend[], tuning: HaproxyTuning = {}): string {
  return [
    "global",
    "  maxconn 9000", // two descriptors per connection within this machine's 20,000
    ...(tuning.threads === undefined ? [] : [`  nbthread ${tuning.threads}`]),
    "defaults",
    "  mode http",
    "  timeout connect 5s",
    "  timeout client 60s",
    "  timeout server 60s",
    "  timeout tunnel 1h",
    ...(tuning.noDelay ? ["  option http-no-delay"] : []),
    "frontend listen",
    `  bind 127.0.0.1:${port}`,
    "  default_backend transcribers",
    "backend transcribers",
    "  balance url_param sessionId",
    "  hash-type consistent",
    ...backends.map((b, i) => `  server t${i} ${"path" in b ? b.path : `${b.host}:${b.port}`}`),
    "",
  ].join("\n");
}

/** Settings beside the defaults; HAProxy 2.6 runs one thread per CPU it may use unless `threads` says otherwise. */
export interface HaproxyTuning {
  threads?: number;
  /**
   * `option http-no-delay`: without it HAProxy sends what it forwards with MSG_MORE while a message (here: the
   * WebSocket tunnel, which never ends) may have more to come, and the kernel may hold a small frame back.
   */
  noDelay?: boolean;
}

/** A transcriber HAProxy forwards to: TCP, or the Unix socket the gateway's relay uses. */
export type Backend = { host: string; port: number } | { path: string };

export interface RunningHaproxy {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts haproxy in the foreground (-db) as our subprocess with the configuration `configFor` writes for a free
 * 127.0.0.1 port; resolves once a GET of `readyPath` through it answers with a status `ready` accepts (any, by
 * default). `stop()` ends exactly this process (SIGTERM, SIGKILL after 2 s) and removes its configuration.
 */
export async function runHaproxy(
  binary: string,
  configFor: (port: number) => string,
  readyPath: string,
  ready: (status: number) => boolean = () => true,
): Promise<RunningHaproxy> {
  const port = await freePort("127.0.0.1");
  const dir = mkdtempSync(join(tmpdir(), "te-haproxy-"));
  const file = join(dir, "haproxy.cfg");
  writeFileSync(file, configFor(port));
  const child: Subprocess = Bun.spawn([binary, "-db", "-f", file], { stdout: "ignore", stderr: "pipe" });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
    await child.exited;
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) {
      const err = await new Response(child.stderr as ReadableStream).text();
      await stop();
      throw new Error(`haproxy exited ${child.exitCode}: ${err.trim().slice(0, 500)}`);
    }
    const ok = await fetch(`http://127.0.0.1:${port}${readyPath}`).then(
      (r) => r.arrayBuffer().then(() => ready(r.status)),
      () => false,
    );
    if (ok) break;
    if (i === 400) {
      await stop();
      throw new Error(`haproxy on 127.0.0.1:${port} did not answer ${readyPath} within 10 s`);
    }
    await Bun.sleep(25);
  }
  return { port, pid: child.pid!, stop };
}

/** Starts the baseline haproxy over `backends`; resolves once it accepts connections. */
export function startHaproxy(binary: string, backends: readonly Backend[], tuning: HaproxyTuning = {}): Promise<RunningHaproxy> {
  return runHaproxy(binary, (port) => haproxyConfig(port, backends, tuning), "/health");
}
