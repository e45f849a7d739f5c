/** End to end on the real engine: transcriber containers started through testcontainers on Podman/Docker. */
import { beforeAll, describe } from "bun:test";
import { ensureImage } from "../runtime/image-build.ts";
import { engine, engineTest } from "../test/engine.ts";
import { containersOf, podman } from "../test/podman.ts";
import { endToEndScenarios } from "../test/scenarios.ts";

describe("end to end (podman driver)", () => {
  beforeAll(async () => {
    if (engine) await ensureImage({ log: (line: string) => console.log(`[image] ${line}`) });
  }, 300_000);

  endToEndScenarios(
    engineTest,
    { CONTAINER_DRIVER: "podman" },
    {
      async killInstance(ctx, instanceId) {
        const id = ctx.gateway.gateway.state.registry.get(instanceId).snapshot().containerId;
        if (!id) throw new Error(`${instanceId} has no container`);
        await podman("kill", "--signal", "KILL", id);
      },
      async stopInstance(ctx, instanceId) {
        const id = ctx.gateway.gateway.state.registry.get(instanceId).snapshot().containerId;
        if (!id) throw new Error(`${instanceId} has no container`);
        await podman("stop", id);
      },
      async leftovers(ctx) {
        return (await containersOf(ctx.gateway.gateway.config.gatewayName)).length;
      },
    },
  );
});
