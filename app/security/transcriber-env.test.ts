/**
 * No secret of the gateway reaches a transcriber: a real gateway process, started with ADMIN_TOKEN,
 * TOKEN_SECRET and API_KEYS set, prewarms one instance on each driver, and the transcriber's actual
 * environment is read back (the child's /proc/PID/environ; the container's `podman inspect`).
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureImage } from "../../runtime/image-build.ts";
import { engine, engineTest } from "../../test/engine.ts";
import { podman } from "../../test/podman.ts";
import { pollUntil } from "../../test/wait.ts";
import { isTranscriberVariable } from "../../transcriber/env.ts";
import { loadConfig } from "../config.ts";
import { type GatewayProcess, spawnGateway } from "../faults/gateway-process.ts";
import { transcriberEnv } from "../gateway.ts";

const SECRETS = {
  ADMIN_TOKEN: `admin-${crypto.randomUUID()}`,
  TOKEN_SECRET: `signing-${crypto.randomUUID()}`,
  API_KEYS: `client-key-${crypto.randomUUID()}`,
};
/** What the transcriber does need, so the test also sees that the allowlist lets it through. */
const UPSTREAM_KEY = `sk-upstream-${crypto.randomUUID()}`;

/** A gateway with the secrets in its environment and one prewarmed instance; resolves its container id. */
async function gatewayWithOneInstance(driver: "process" | "podman"): Promise<{ gw: GatewayProcess; containerId: string }> {
  const gw = await spawnGateway({
    ...SECRETS,
    OPENAI_API_KEY: UPSTREAM_KEY,
    TRANSCRIBER_BACKEND: "echo",
    CONTAINER_DRIVER: driver,
    ROUTING_MODE: "pool",
    CONTAINER_POOL_SIZE: "1",
    POOL_PREWARM: "true",
  });
  const stats = async () => (await fetch(`${gw.httpUrl}/stats`, { headers: { authorization: `Bearer ${SECRETS.ADMIN_TOKEN}` } })).json();
  const containerId = await pollUntil(
    async () => (await stats()).instances.find((i: { state: string }) => i.state === "running")?.containerId as string | undefined,
    "the prewarmed instance running",
    30_000,
    100,
  );
  return { gw, containerId };
}

/** Asserts that no name and no value of `entries` (NAME=value lines) is one of the gateway's secrets. */
function expectNoSecret(entries: string[]): void {
  const names = entries.map((entry) => entry.slice(0, entry.indexOf("=")));
  for (const name of Object.keys(SECRETS)) expect(names).not.toContain(name);
  for (const secret of Object.values(SECRETS)) expect(entries.filter((entry) => entry.includes(secret))).toEqual([]);
  // What the transcriber needs did get through.
  expect(entries).toContain(`OPENAI_API_KEY=${UPSTREAM_KEY}`);
  expect(entries).toContain("TRANSCRIBER_BACKEND=echo");
}

describe("the gateway's secrets stay out of transcribers", () => {
  test("everything the gateway hands a transcriber is on the transcriber's allowlist, so no setting is dropped on the way", () => {
    const caFile = join(mkdtempSync(join(tmpdir(), "te-ca-")), "ca.pem");
    writeFileSync(caFile, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    const env = transcriberEnv(
      loadConfig({ ...SECRETS, OPENAI_API_KEY: UPSTREAM_KEY, OPENAI_BASE_URL: "https://127.0.0.1:9/v1", OPENAI_CA_FILE: caFile }),
    );
    expect(Object.keys(env).sort()).toEqual([
      "CONTAINER_CPUS",
      "LOG_LEVEL",
      "OPENAI_API_KEY",
      "OPENAI_BASE_URL",
      "OPENAI_CA_PEM",
      "TRANSCRIBER_BACKEND",
      "TRANSCRIBE_MODEL",
    ]);
    expect(Object.keys(env).filter((name) => !isTranscriberVariable(name))).toEqual([]);
  });

  test("process driver: the child's /proc/PID/environ holds none of them", async () => {
    const { gw, containerId } = await gatewayWithOneInstance("process");
    try {
      const pid = Number(containerId.replace(/^pid:/, ""));
      const entries = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").filter(Boolean);
      expectNoSecret(entries);
      // The gateway itself does hold them: the test reads the right kind of process.
      const gatewayEntries = readFileSync(`/proc/${gw.pid}/environ`, "utf8").split("\0");
      expect(gatewayEntries).toContain(`ADMIN_TOKEN=${SECRETS.ADMIN_TOKEN}`);
    } finally {
      gw.kill("SIGTERM");
      await gw.exited;
    }
  }, 60_000);

  beforeAll(async () => {
    if (engine) await ensureImage({ log: (line) => console.log(`[image] ${line}`) });
  }, 300_000);

  engineTest(
    "podman driver: the container's environment (podman inspect) holds none of them",
    async () => {
      const { gw, containerId } = await gatewayWithOneInstance("podman");
      try {
        const entries = JSON.parse(await podman("inspect", "--format", "{{json .Config.Env}}", containerId)) as string[];
        expectNoSecret(entries);
      } finally {
        gw.kill("SIGTERM");
        await gw.exited;
      }
    },
    60_000,
  );
});
