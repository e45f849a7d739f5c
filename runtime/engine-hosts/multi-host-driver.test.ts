import { expect } from "bun:test";
import { engine, engineTest } from "../../test/engine.ts";
import { ensureImage } from "../image-build.ts";
import { parseEngineHosts } from "./config.ts";
import type { HostsLogger } from "./engine-host.ts";
import { MultiHostDriver } from "./multi-host-driver.ts";

function recordingLogger() {
  const lines: Array<{ level: string; obj: Record<string, unknown>; msg: string }> = [];
  const at = (level: string) => (obj: object, msg: string) => void lines.push({ level, obj: obj as Record<string, unknown>, msg });
  const logger: HostsLogger = { info: at("info"), warn: at("warn"), error: at("error") };
  return { logger, lines };
}

engineTest("a host down at start-up is logged and skipped; with every host down the driver names them as its engine problem", async () => {
  await ensureImage();
  const absent = `unix:///tmp/te-absent-${crypto.randomUUID().slice(0, 8)}.sock`;
  const { logger, lines } = recordingLogger();
  const gatewayName = `mhd-${crypto.randomUUID().slice(0, 6)}`;
  const driver = new MultiHostDriver({
    hosts: parseEngineHosts({ ENGINE_HOSTS: `gone@${absent},here@${engine!.dockerHost}` })!,
    gatewayName,
    network: "host",
    logger,
  });
  try {
    await driver.open();
    expect(lines.find((l) => l.level === "warn" && l.obj.host === "gone")?.msg).toBe("engine host not answering: no new placements there");
    expect(driver.hosts().map((h) => [h.name, h.up, h.placeable])).toEqual([
      ["gone", false, false],
      ["here", true, true],
    ]);
    expect(await driver.engineProblem()).toBeUndefined();
    const container = await driver.start({ instanceId: "session-any", env: { TRANSCRIBER_BACKEND: "echo" } });
    expect(container.hostName).toBe("here");
    expect(driver.hostOf(container.id)).toBe("here");
    expect(driver.hosts().find((h) => h.name === "here")?.running).toBe(1);
    await driver.stop(container);
    expect(driver.hosts().find((h) => h.name === "here")?.running).toBe(0);
  } finally {
    await driver.close();
  }

  const alone = new MultiHostDriver({ hosts: parseEngineHosts({ ENGINE_HOSTS: `gone@${absent}` })!, gatewayName });
  await alone.open();
  expect(await alone.engineProblem()).toBe("no engine host answers (gone)");
  expect(alone.placementRefusal("session-any")).toEqual({
    message: "no engine host can take instances now (gone: down, draining or without the image)",
    retryAfterS: 5,
  });
  await alone.close();
});
