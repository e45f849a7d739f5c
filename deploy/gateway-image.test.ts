/**
 * The deployment for real: the FROM-scratch gateway image (deploy/Containerfile.gateway) run with the
 * `podman run` arguments Quadlet makes of deploy/transcribe-edge.container, against the local stand-in.
 * A session is transcribed, the unit's health command, reload (ExecReload) and stop (Quadlet's ExecStop)
 * work with sessions open, and nothing is left behind. Differences from a systemd host, each because no
 * systemd runs here: the log driver is k8s-file (no journald), no `--cgroups=split` / `--sdnotify`, and the
 * unit's host paths (/etc/transcribe-edge, /run/transcribe-edge/sockets) are temporary directories.
 * With QUADLET=/path/to/quadlet the translation is also compared with the real generator's ExecStart.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildImage, ensureImage, IMAGES } from "../runtime/image-build.ts";
import { freePort } from "../runtime/free-port.ts";
import { type Standin, startStandin } from "../standin/server.ts";
import { TestClient } from "../test/client.ts";
import { engine, engineTest } from "../test/engine.ts";
import { containersOf, podman } from "../test/podman.ts";
import { argGroups, parseUnit, quadletRunArgs, splitCommandLine, unitValues } from "../test/quadlet.ts";
import { finals, pitchesIn, speechPackets } from "../test/scenarios.ts";
import { pollUntil } from "../test/wait.ts";

const ROOT = join(import.meta.dir, "..");
const UNIT_FILE = join(ROOT, "deploy/transcribe-edge.container");
const unit = parseUnit(readFileSync(UNIT_FILE, "utf8"));
const QUERY = "encoding=opus&sample_rate=48000&channels=1&language=en";
/** Quadlet's ExecStop for every .container unit. */
const QUADLET_EXEC_STOP = "podman rm -v -f -i --cidfile=%t/%N.cid";

const name = `te-deploy-${process.pid}`;
const gatewayName = `deploy-${process.pid}`;
const work = mkdtempSync(join(tmpdir(), "te-deploy-"));
const etc = join(work, "etc");
const sockets = join(work, "sockets");
let standin: Standin;
let port: number;
let baseUrl: string;
const admin = { authorization: "Bearer change-me" }; // deploy/gateway.env's ADMIN_TOKEN

/** The unit's values with this test's paths and name: what systemd would expand (%t, %N) and the host has. */
function localize(arg: string): string {
  return arg
    .replaceAll("/etc/transcribe-edge", etc)
    .replaceAll("/run/transcribe-edge/sockets", sockets)
    .replaceAll("%t", work)
    .replaceAll("%N", name)
    .replace(/^--name=.*/, `--name=${name}`)
    .replace(/^transcribe-edge$/, name);
}

/** The run arguments as this host can take them (see the header). */
function runArgs(): string[] {
  const args = quadletRunArgs(unit).filter((a) => a !== "--cgroups=split" && a !== "--sdnotify=conmon");
  const log = args.indexOf("journald");
  if (log > 0 && args[log - 1] === "--log-driver") args[log] = "k8s-file";
  return args.map(localize);
}

async function stats(): Promise<any> {
  return (await fetch(`${baseUrl}/stats`, { headers: admin })).json();
}

/** Streams `turns` speech turns at `pitchHz` on a new session and resolves the client once it closed. */
async function transcribe(sessionId: string, pitchHz: number, turns: number, duringStream?: () => Promise<void>) {
  const client = TestClient.connect(`ws://127.0.0.1:${port}/v1/listen?sessionId=${sessionId}&${QUERY}`);
  const metadata = await client.next("Metadata", 30_000);
  const streaming = client.stream(await speechPackets(pitchHz, turns));
  await duringStream?.();
  await streaming;
  client.send({ type: "CloseStream" });
  return { client, metadata, closed: await client.closed };
}

describe("gateway image under the Quadlet unit's podman run arguments", () => {
  beforeAll(async () => {
    if (!engine) return;
    await ensureImage({ log: (line: string) => console.log(`[image] ${line}`) });
    await buildImage({ image: IMAGES.gateway, log: (line: string) => console.log(`[gateway-image] ${line}`) });
    standin = await startStandin({ port: 0, certDir: join(work, "cert") });
    port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    mkdirSync(etc, { recursive: true });
    mkdirSync(sockets, { recursive: true, mode: 0o700 }); // the unit's ExecStartPre
    writeFileSync(join(etc, "standin-ca.pem"), readFileSync(standin.caFile));
    const env = readFileSync(join(ROOT, "deploy/gateway.env"), "utf8")
      .replace(/^PORT=.*$/m, `PORT=${port}`)
      .replace(/^GATEWAY_NAME=.*$/m, `GATEWAY_NAME=${gatewayName}`);
    writeFileSync(
      join(etc, "gateway.env"),
      `${env}\nOPENAI_BASE_URL=${standin.baseUrl}\n` + `OPENAI_CA_FILE=${join(etc, "standin-ca.pem")}\nCONTAINER_NETWORK=host\n`,
    );
    writeFileSync(
      join(etc, "reload.env"),
      readFileSync(join(ROOT, "deploy/reload.env"), "utf8").replace(/^CONTAINER_POOL_SIZE=.*$/m, "CONTAINER_POOL_SIZE=2"),
    );
  }, 300_000);

  afterAll(async () => {
    if (!engine) return;
    await podman("rm", "-f", "-i", name).catch(() => undefined);
    for (const leftover of await containersOf(gatewayName)) await podman("rm", "-f", leftover).catch(() => undefined);
    await standin?.close();
    rmSync(work, { recursive: true, force: true });
  }, 60_000);

  engineTest(
    "starts read-only with no capability, answers /readyz, and guards the status page",
    async () => {
      await podman("run", ...runArgs());
      await pollUntil(
        () =>
          fetch(`${baseUrl}/readyz`).then(
            (r) => r.ok,
            () => false,
          ),
        "/readyz 200",
        30_000,
        100,
      );
      const inspect = JSON.parse(await podman("inspect", name))[0];
      expect(inspect.HostConfig.ReadonlyRootfs).toBe(true);
      expect(inspect.HostConfig.SecurityOpt).toContain("no-new-privileges");
      expect(inspect.HostConfig.NetworkMode).toBe("host");
      expect(
        (await podman("top", name, "capeff"))
          .split("\n")
          .slice(1)
          .map((l) => l.trim()),
      ).toEqual(["none"]);
      expect((await fetch(`${baseUrl}/`)).status).toBe(401);
      expect((await fetch(`${baseUrl}/`, { headers: admin })).status).toBe(200);
      expect((await fetch(`${baseUrl}/demo/libopus/index.js`)).status).toBe(200); // embedded in the binary
      expect((await stats()).config).toMatchObject({ routingMode: "pool", containerPoolSize: 2, transcriberSocketDir: sockets });
    },
    60_000,
  );

  engineTest(
    "transcribes a session through a transcriber container it started over the engine socket",
    async () => {
      const { client, metadata, closed } = await transcribe("deploy-a", 220, 2);
      expect(metadata).toMatchObject({ session_id: "deploy-a", routing: "pool", start: "cold" });
      expect(closed.code).toBe(1000);
      expect(pitchesIn(finals(client))).toHaveLength(2);
      for (const hz of pitchesIn(finals(client))) expect(Math.abs(hz - 220)).toBeLessThanOrEqual(20);
      expect(await containersOf(gatewayName, { running: true })).toHaveLength(1);
      // The data path is the transcriber's Unix socket under the unit's socket directory.
      expect(readdirSync(sockets)).toHaveLength(1);
    },
    60_000,
  );

  engineTest(
    "the unit's HealthCmd passes (podman healthcheck run)",
    async () => {
      expect(unitValues(unit, "Container", "HealthCmd")).toEqual(['["/usr/local/bin/gateway","healthcheck"]']);
      await podman("healthcheck", "run", name); // throws on a non-zero exit
      expect(JSON.parse(await podman("inspect", name))[0].State.Health.Status).toBe("healthy");
    },
    30_000,
  );

  engineTest(
    "ExecReload (SIGHUP) applies reload.env while a session streams, and the session ends cleanly",
    async () => {
      writeFileSync(join(etc, "reload.env"), "CONTAINER_POOL_SIZE=3\nSLEEP_AFTER=10m\n");
      const reload = splitCommandLine(unitValues(unit, "Service", "ExecReload")[0]!).map(localize);
      expect(reload.slice(0, 3)).toEqual(["/usr/bin/podman", "kill", "--signal"]);
      const { client, closed } = await transcribe("deploy-b", 300, 3, async () => {
        await podman(...reload.slice(1));
        await pollUntil(async () => (await stats()).config.containerPoolSize === 3, "pool size 3 in /stats", 10_000, 100);
      });
      expect(closed.code).toBe(1000);
      expect(finals(client)).toHaveLength(3);
      expect((await stats()).config.sleepAfterMs).toBe(600_000);
    },
    60_000,
  );

  engineTest(
    "Quadlet's ExecStop drains an open session and removes every transcriber container",
    async () => {
      const client = TestClient.connect(`ws://127.0.0.1:${port}/v1/listen?sessionId=deploy-c&${QUERY}`);
      await client.next("Metadata", 30_000);
      await client.stream(await speechPackets(250, 1));
      const started = performance.now();
      await podman(...splitCommandLine(QUADLET_EXEC_STOP).slice(1).map(localize));
      const seconds = (performance.now() - started) / 1000;
      console.log(`[deploy] ExecStop returned after ${seconds.toFixed(2)} s`);
      const closed = await client.closed;
      expect(closed.code).toBe(1001); // the gateway went away: 1000 would tell the client it had finished
      expect(client.ofType("Error").map((m) => m.code)).toEqual(["gateway_shutdown"]);
      expect(finals(client)).toHaveLength(1);
      expect(await podman("ps", "-a", "--filter", `name=^${name}$`, "--format", "{{.Names}}")).toBe("");
      expect(await containersOf(gatewayName)).toEqual([]);
      expect(readdirSync(sockets)).toEqual([]);
    },
    60_000,
  );

  const quadlet = process.env.QUADLET;
  if (quadlet) {
    engineTest("matches the real Quadlet generator's ExecStart", async () => {
      const child = Bun.spawn([quadlet, "-dryrun"], {
        env: { ...process.env, QUADLET_UNIT_DIRS: join(ROOT, "deploy") },
        stdout: "pipe",
        stderr: "ignore",
      });
      const out = await new Response(child.stdout).text();
      const line = out.split("\n").find((l) => l.startsWith("ExecStart="));
      expect(line).toBeDefined();
      const generated = splitCommandLine(line!.slice("ExecStart=".length)).slice(2); // drop `/usr/bin/podman run`
      expect(argGroups(quadletRunArgs(unit))).toEqual(argGroups(generated));
      expect(out).toContain(`ExecStop=/usr/bin/${QUADLET_EXEC_STOP}`);
    });
  }
});
