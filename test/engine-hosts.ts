/**
 * Several engine "hosts" on this machine: each a `podman system service` of its own, with its own storage
 * (`--root`, `--runroot`, `--tmpdir`) and socket, so no host sees another's containers. The transcriber image
 * reaches each without a registry (`podman save` once, cached by image id; `podman load` per host). A host
 * is lost by killing its API service and freezing (or killing) its containers; it returns by starting the
 * service again. stop() ends exactly the processes it started and removes what it made.
 */
import { test } from "bun:test";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { pingSocket } from "../runtime/engine.ts";
import { transcriberImage } from "../runtime/image.ts";
import { podman } from "./podman.ts";
import { engine } from "./engine.ts";
import { pollUntil } from "./wait.ts";

/** Why the harness cannot run here (it needs the engine, the podman CLI and root for its own storage), if so. */
export const engineHostsSkipReason: string | undefined = !engine
  ? "no container engine answered"
  : !Bun.which("podman")
    ? "the podman CLI is not installed"
    : process.getuid?.() !== 0
      ? "several Podman API services with their own --root need root"
      : undefined;

/** `test` when the harness can run; otherwise a skip with the reason, or a failure under REQUIRE_ENGINE=1. */
export function engineHostsTest(name: string, fn: () => Promise<void>, timeoutMs?: number): void {
  if (!engineHostsSkipReason) return void test(name, fn, timeoutMs);
  if (process.env.REQUIRE_ENGINE === "1") {
    test(name, () => {
      throw new Error(`REQUIRE_ENGINE=1 but ${engineHostsSkipReason}`);
    });
  } else {
    console.warn(`[skip] ${name}: ${engineHostsSkipReason}`);
    test.skip(name, fn);
  }
}

export interface TestEngineHost {
  name: string;
  root: string;
  runroot: string;
  tmpdir: string;
  socketPath: string;
  /** `unix:///...` */
  dockerHost: string;
  /** The running API service, while the host is up. */
  service: ReturnType<typeof Bun.spawn> | undefined;
}

/** How a host is lost: `freeze` leaves its containers' sockets open and silent (a partition, a dead machine); `kill` ends them. */
export type HostLoss = "freeze" | "kill";

/** podman's global flags for one host's storage. */
function storageFlags(host: TestEngineHost): string[] {
  return ["--root", host.root, "--runroot", host.runroot, "--tmpdir", host.tmpdir];
}

/** `podman save` of the image into a tarball named by its id: saved once per build, loaded per host. */
async function imageTarball(image: string): Promise<string> {
  const id = (await podman("image", "inspect", "--format", "{{.Id}}", image)).slice(0, 16);
  const tarball = `/var/tmp/te-image-${id}.tar`;
  if (!existsSync(tarball)) {
    await podman("save", "--format", "oci-archive", "-o", `${tarball}.part`, image);
    await Bun.$`mv ${tarball}.part ${tarball}`.quiet();
  }
  return tarball;
}

export class EngineHostsHarness {
  readonly hosts: TestEngineHost[];
  private readonly base: string;
  private readonly baseRun: string;

  private constructor(names: string[]) {
    const tag = `te-hosts-${process.pid}-${crypto.randomUUID().slice(0, 4)}`;
    this.base = `/var/lib/${tag}`;
    this.baseRun = `/run/${tag}`;
    this.hosts = names.map((name) => ({
      name,
      root: `${this.base}/${name}`,
      runroot: `${this.baseRun}/${name}`,
      tmpdir: `${this.baseRun}/${name}-tmp`,
      socketPath: `${this.baseRun}/${name}.sock`,
      dockerHost: `unix://${this.baseRun}/${name}.sock`,
      service: undefined,
    }));
  }

  /**
   * Starts one API service per name; `withoutImage` names hosts that do not get the image. Resolves once every
   * service answers `_ping`.
   */
  static async start(names: string[], options: { image?: string; withoutImage?: string[] } = {}): Promise<EngineHostsHarness> {
    const harness = new EngineHostsHarness(names);
    const image = options.image ?? transcriberImage();
    const tarball = await imageTarball(image);
    try {
      await Promise.all(
        harness.hosts.map(async (host) => {
          for (const dir of [host.root, host.runroot, host.tmpdir]) mkdirSync(dir, { recursive: true });
          if (!options.withoutImage?.includes(host.name)) await podman(...storageFlags(host), "load", "-q", "-i", tarball);
          await harness.startService(host);
        }),
      );
    } catch (error) {
      await harness.stop();
      throw error;
    }
    return harness;
  }

  /** Gives a host the image (as an operator would: `podman load`). */
  async loadImage(name: string, image = transcriberImage()): Promise<void> {
    await podman(...storageFlags(this.host(name)), "load", "-q", "-i", await imageTarball(image));
  }

  host(name: string): TestEngineHost {
    const host = this.hosts.find((candidate) => candidate.name === name);
    if (!host) throw new Error(`no test engine host ${name}`);
    return host;
  }

  /** ENGINE_HOSTS for these hosts, `name@unix:///...`, with `=N` where `limits` gives one. */
  engineHostsValue(limits: Record<string, number> = {}): string {
    return this.hosts.map((host) => `${host.name}@${host.dockerHost}${limits[host.name] ? `=${limits[host.name]}` : ""}`).join(",");
  }

  /** (Re)starts the host's API service and waits until it answers. */
  async startService(host: TestEngineHost): Promise<void> {
    rmSync(host.socketPath, { force: true });
    host.service = Bun.spawn(["podman", ...storageFlags(host), "system", "service", "--time=0", host.dockerHost], {
      stdout: "ignore",
      stderr: "ignore",
    });
    await pollUntil(() => pingSocket(host.dockerHost, 300), `engine host ${host.name} answering`, 15_000, 50);
  }

  /** Container ids on the host as podman sees them (`all`: stopped ones too). */
  async containers(name: string, all = true): Promise<string[]> {
    const out = await podman(...storageFlags(this.host(name)), "ps", ...(all ? ["-a"] : []), "-q", "--no-trunc");
    return out ? out.split("\n") : [];
  }

  /** Runs podman against the host's storage (works while its API service is down). */
  podman(name: string, ...args: string[]): Promise<string> {
    return podman(...storageFlags(this.host(name)), ...args);
  }

  /** The pids of the host's running containers (their main process). */
  private async containerPids(host: TestEngineHost): Promise<number[]> {
    const ids = await this.containers(host.name, false);
    if (ids.length === 0) return [];
    const out = await podman(...storageFlags(host), "inspect", "--format", "{{.State.Pid}}", ...ids);
    return out
      .split("\n")
      .map(Number)
      .filter((pid) => pid > 0);
  }

  /**
   * Loses the host: SIGKILL to its API service, then SIGSTOP (`freeze`) or SIGKILL (`kill`) to each of its
   * containers. Resolves the time (performance.now()) the host was lost and the frozen pids.
   */
  async lose(name: string, loss: HostLoss): Promise<{ lostAtMs: number; pids: number[] }> {
    const host = this.host(name);
    const pids = await this.containerPids(host);
    const lostAtMs = performance.now();
    host.service?.kill("SIGKILL");
    for (const pid of pids) process.kill(pid, loss === "freeze" ? "SIGSTOP" : "SIGKILL");
    await host.service?.exited;
    host.service = undefined;
    return { lostAtMs, pids };
  }

  /** Freezes (SIGSTOP) or thaws (SIGCONT) only the host's API service: it accepts connections and answers nothing. */
  freezeService(name: string, frozen: boolean): void {
    this.host(name).service?.kill(frozen ? "SIGSTOP" : "SIGCONT");
  }

  /** Kills only the host's API service (an engine API restart): its containers run on. */
  async stopService(name: string): Promise<void> {
    const host = this.host(name);
    host.service?.kill("SIGKILL");
    await host.service?.exited;
    host.service = undefined;
  }

  /** Brings a lost host back: frozen containers resume (as on a healed partition) and its service starts again. */
  async restore(name: string, frozenPids: number[] = []): Promise<void> {
    const host = this.host(name);
    for (const pid of frozenPids) {
      try {
        process.kill(pid, "SIGCONT");
      } catch {} // already gone
    }
    await this.startService(host);
  }

  /**
   * Between tests: every host answering again (a frozen one thawed, a lost one's service restarted) with no
   * container and no volume (so no drain marker) left, so one test that failed midway cannot fail the next.
   * Images stay as they are.
   */
  async reset(): Promise<void> {
    for (const host of this.hosts) {
      await this.clear(host);
      if (!host.service) await this.startService(host);
    }
  }

  /** Thaws the host's containers and service (a test may have frozen them), then removes its containers and volumes. */
  private async clear(host: TestEngineHost): Promise<void> {
    for (const pid of await this.containerPids(host).catch(() => [])) {
      try {
        process.kill(pid, "SIGCONT");
      } catch {}
    }
    host.service?.kill("SIGCONT");
    await podman(...storageFlags(host), "rm", "-af", "-t", "0").catch(() => undefined);
    await podman(...storageFlags(host), "volume", "rm", "-af").catch(() => undefined);
  }

  /** Removes every container on every host, stops the services it started (by pid) and deletes their storage. */
  async stop(): Promise<void> {
    for (const host of this.hosts) {
      await this.clear(host);
      host.service?.kill("SIGTERM");
      await host.service?.exited;
      host.service = undefined;
      // Not `system reset`: it would also drop the networks every Podman root of this machine shares.
      await podman(...storageFlags(host), "rmi", "-af").catch(() => undefined);
    }
    // Storage may keep its overlay home mounted privately; unmount what lies under our directories first.
    const mounts = (await Bun.file("/proc/mounts").text()).split("\n").map((line) => line.split(" ")[1] ?? "");
    for (const mount of mounts.filter((m) => m.startsWith(`${this.base}/`) || m.startsWith(`${this.baseRun}/`)).reverse()) {
      await Bun.$`umount -l ${mount}`.quiet().nothrow();
    }
    rmSync(this.base, { recursive: true, force: true });
    rmSync(this.baseRun, { recursive: true, force: true });
  }
}
