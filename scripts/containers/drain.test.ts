import { afterAll, expect } from "bun:test";
import { engine, engineTest } from "../../test/engine.ts";
import { pollUntil } from "../../test/wait.ts";
import { engineClient } from "../../runtime/engine-hosts/client.ts";
import { parseEngineHosts } from "../../runtime/engine-hosts/config.ts";
import { drainVolumeName } from "../../runtime/engine-hosts/drain.ts";
import { MultiHostDriver } from "../../runtime/engine-hosts/multi-host-driver.ts";
import { ensureImage } from "../../runtime/image-build.ts";

const gatewayName = `drain-${crypto.randomUUID().slice(0, 6)}`;
const env = { ENGINE_HOSTS: `dr@${engine?.dockerHost ?? "unix:///none"}`, GATEWAY_NAME: gatewayName };
let driver: MultiHostDriver | undefined;
afterAll(async () => {
  await driver?.close();
  if (engine)
    await engineClient(parseEngineHosts(env)![0]!)
      .getVolume(drainVolumeName(gatewayName))
      .remove()
      .catch(() => undefined);
});

async function containers(...args: string[]) {
  const child = Bun.spawn([process.execPath, "scripts/containers.ts", ...args], {
    cwd: `${import.meta.dir}/../..`,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, code };
}

engineTest(
  "containers drain HOST stops placements there (every gateway sees it within a check), undrain resumes them",
  async () => {
    await ensureImage();
    driver = new MultiHostDriver({ hosts: parseEngineHosts(env)!, gatewayName, checkIntervalMs: 200 });
    await driver.open();
    expect(driver.placementRefusal("session-x")).toBeUndefined();

    const drained = await containers("drain", "dr");
    expect(drained.code).toBe(0);
    expect(drained.stdout).toContain("engine host dr");
    expect(drained.stdout).toContain("drained: no new instances there; 0 running");
    await pollUntil(() => driver!.hosts()[0]!.drained, "the driver seeing the drain", 5000, 50);
    expect(driver.placementRefusal("session-x")?.message).toContain(
      "no engine host can take instances now (dr: down, draining or without the image)",
    );
    await expect(driver.start({ instanceId: "session-x", env: { TRANSCRIBER_BACKEND: "echo" } })).rejects.toThrow(
      "no engine host can take instances now",
    );

    const undrained = await containers("undrain", "dr");
    expect(undrained.code).toBe(0);
    await pollUntil(() => driver!.hosts()[0]!.placeable, "the driver seeing the undrain", 5000, 50);
    const container = await driver.start({ instanceId: "session-x", env: { TRANSCRIBER_BACKEND: "echo" } });
    expect(container.hostName).toBe("dr");
    await driver.stop(container);
  },
  60_000,
);

engineTest("containers drain names the hosts it knows when given another, and needs ENGINE_HOSTS", async () => {
  const unknown = await containers("drain", "nope");
  expect(unknown.code).toBe(2);
  expect(unknown.stderr.trim()).toBe("containers drain: expected one of dr (got 'nope')");
  const child = Bun.spawn([process.execPath, "scripts/containers.ts", "drain", "dr"], {
    cwd: `${import.meta.dir}/../..`,
    env: { PATH: process.env.PATH ?? "" },
    stderr: "pipe",
  });
  expect(await child.exited).toBe(2);
  expect((await new Response(child.stderr).text()).trim()).toBe(
    "containers drain: ENGINE_HOSTS is not set: with one engine there is no host to drain",
  );
});
