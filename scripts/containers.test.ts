/**
 * `npm run containers -- list` as an operator runs it: on the real engine, the containers a real Podman driver
 * started for a cluster (one labelled with the replica that started it, one without), as a table and as JSON,
 * and nothing of another cluster; under the process driver, the gateway's own instances from its /stats; and the
 * one-line errors.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { LABEL_REPLICA, type RunningContainer } from "../runtime/driver.ts";
import { ensureImage } from "../runtime/image-build.ts";
import { PodmanDriver } from "../runtime/podman-driver.ts";
import { TestClient } from "../test/client.ts";
import { engine, engineTest } from "../test/engine.ts";
import { startTestGateway, type TestGateway } from "../test/gateway.ts";
import type { ContainerRow } from "./containers/rows.ts";

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    ROUTING_MODE: "pool",
    CONTAINER_POOL_SIZE: "2",
    CONTAINER_DRIVER: "process",
    TRANSCRIBER_BACKEND: "echo",
    ADMIN_TOKEN: "admin-secret",
  });
});
afterAll(() => gw.stop());

async function containers(args: string[], env: Record<string, string>) {
  const child = Bun.spawn([process.execPath, "scripts/containers.ts", ...args], {
    cwd: `${import.meta.dir}/..`,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, code };
}

/** The table's cells, split on the two-space column gaps (no cell holds two spaces). */
const cellsOf = (stdout: string) =>
  stdout
    .trim()
    .split("\n")
    .map((line) => line.trim().split(/ {2,}/));

engineTest(
  "on the engine: every container of the cluster, which gateway started it ('-' when unlabelled), state, endpoint, age",
  async () => {
    await ensureImage({ log: (line) => console.log(line) });
    const cluster = `list-${crypto.randomUUID().slice(0, 6)}`;
    const driver = new PodmanDriver({ engine: engine!, gatewayName: cluster, network: "host" });
    const other = new PodmanDriver({ engine: engine!, gatewayName: `${cluster}-x`, network: "host" });
    const env = {
      GATEWAY_NAME: cluster,
      CONTAINER_DRIVER: "podman",
      DOCKER_HOST: engine!.dockerHost,
      TESTCONTAINERS_RYUK_DISABLED: "true",
      ...(process.env.TRANSCRIBER_IMAGE ? { TRANSCRIBER_IMAGE: process.env.TRANSCRIBER_IMAGE } : {}),
    };
    const started: RunningContainer[] = [];
    try {
      const spec = { env: { TRANSCRIBER_BACKEND: "echo" } };
      const [byA, unlabelled] = await Promise.all([
        driver.start({ ...spec, instanceId: "pool-0", labels: { [LABEL_REPLICA]: "gw-a" } }),
        driver.start({ ...spec, instanceId: "pool-1" }),
      ]);
      started.push(byA, unlabelled, await other.start({ ...spec, instanceId: "pool-0" }));

      const table = await containers(["list"], env);
      expect([table.code, table.stderr]).toEqual([0, ""]);
      const [header, ...lines] = cellsOf(table.stdout);
      expect(header).toEqual(["INSTANCE", "CONTAINER", "GATEWAY", "STATE", "WHERE", "AGE"]);
      expect(lines.map((cells) => cells.slice(0, 5))).toEqual([
        ["pool-0", byA.id.slice(0, 12), "gw-a", "running", `127.0.0.1:${byA.port}`],
        ["pool-1", unlabelled.id.slice(0, 12), "-", "running", `127.0.0.1:${unlabelled.port}`],
      ]);
      for (const cells of lines) expect(cells[5]).toMatch(/^\d+s$/);

      const json = await containers(["list", "--json"], env);
      expect(json.code).toBe(0);
      const listing = JSON.parse(json.stdout) as { cluster: string; source: string; rows: ContainerRow[] };
      expect(listing.cluster).toBe(cluster);
      expect(listing.source).toContain(engine!.dockerHost);
      expect(
        listing.rows.map(({ instanceId, containerId, gateway, state, host }) => ({ instanceId, containerId, gateway, state, host })),
      ).toEqual([
        { instanceId: "pool-0", containerId: byA.id, gateway: "gw-a", state: "running", host: null },
        { instanceId: "pool-1", containerId: unlabelled.id, gateway: null, state: "running", host: null },
      ]);
      for (const row of listing.rows) expect(Math.abs(Date.parse(row.createdAt!) - Date.now())).toBeLessThan(120_000);

      // A stopped (removed) container leaves the list.
      await driver.stop(unlabelled);
      const after = await containers(["list", "--json"], env);
      expect((JSON.parse(after.stdout).rows as ContainerRow[]).map((row) => row.instanceId)).toEqual(["pool-0"]);
    } finally {
      await Promise.all([driver.close(), other.close()]);
    }
  },
  120_000,
);

test("under the process driver: the gateway's instances from its /stats, started by that gateway", async () => {
  const client = TestClient.connect(`${gw.listenUrl}?sessionId=lister`);
  const metadata = await client.next("Metadata", 15_000);
  try {
    const env = { GATEWAY_URL: gw.httpUrl, ADMIN_TOKEN: "admin-secret", CONTAINER_DRIVER: "process" };
    const { stdout, code } = await containers(["list"], env);
    expect(code).toBe(0);
    const stats = await (await fetch(`${gw.httpUrl}/stats`, { headers: { authorization: "Bearer admin-secret" } })).json();
    const instance = stats.instances.find((i: { id: string }) => i.id === metadata.container);
    const [, ...lines] = cellsOf(stdout);
    const line = lines.find((cells) => cells[0] === metadata.container)!;
    expect(line.slice(0, 5)).toEqual([metadata.container, instance.containerId, stats.gateway, "running", instance.endpoint]);
    const json = JSON.parse((await containers(["list", "--json"], env)).stdout);
    expect(json.source).toBe(gw.httpUrl);
    expect(json.rows.find((row: ContainerRow) => row.instanceId === metadata.container)).toMatchObject({
      gateway: stats.gateway,
      state: "running",
    });
  } finally {
    client.send({ type: "CloseStream" });
    await client.closed;
  }
});

test("one line for what is wrong: the admin token, a bad setting, an unknown command or option", async () => {
  const noToken = await containers(["list"], { GATEWAY_URL: gw.httpUrl, CONTAINER_DRIVER: "process" });
  expect([noToken.code, noToken.stderr.trim()]).toEqual([1, `containers: ${gw.httpUrl}/stats answered HTTP 401 (set ADMIN_TOKEN)`]);
  const badName = await containers(["list"], { GATEWAY_NAME: "Not Valid", CONTAINER_DRIVER: "process" });
  expect(badName.code).toBe(1);
  expect(badName.stderr.trim()).toStartWith("containers: GATEWAY_NAME: ");
  const command = await containers(["lsit"], {});
  expect([command.code, command.stderr.trim()]).toEqual([
    2,
    "containers: unknown command 'lsit' (expected: list, drain or undrain). usage: npm run containers -- list [--json] | drain HOST [--wait] | undrain HOST",
  ]);
  const option = await containers(["list", "--yaml"], {});
  expect([option.code, option.stderr.trim()]).toEqual([
    2,
    "containers: unknown option '--yaml'. usage: npm run containers -- list [--json] | drain HOST [--wait] | undrain HOST",
  ]);
});
