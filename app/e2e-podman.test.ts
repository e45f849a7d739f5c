/** End to end on the real engine: transcriber containers started through testcontainers on Podman/Docker. */
import { beforeAll, describe } from "bun:test";
import { LABEL_GATEWAY, LABEL_MANAGED } from "../runtime/driver.ts";
import { ensureImage } from "../runtime/image-build.ts";
import { engine, engineTest } from "../test/engine.ts";
import { endToEndScenarios } from "../test/scenarios.ts";

async function podman(...args: string[]): Promise<string> {
  const child = Bun.spawn(["podman", ...args], { stdout: "pipe", stderr: "pipe" });
  const [out, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
  if (code !== 0) throw new Error(`podman ${args.join(" ")} failed: ${await new Response(child.stderr).text()}`);
  return out.trim();
}

describe("end to end (podman driver)", () => {
  beforeAll(async () => {
    if (engine) await ensureImage({ log: (line: string) => console.log(`[image] ${line}`) });
  }, 300_000);

  endToEndScenarios(engineTest, { CONTAINER_DRIVER: "podman" }, {
    async killInstance(ctx, instanceId) {
      const id = ctx.gateway.gateway.state.registry.get(instanceId).snapshot().containerId;
      if (!id) throw new Error(`${instanceId} has no container`);
      await podman("kill", "--signal", "KILL", id);
    },
    async leftovers(ctx) {
      const names = await podman(
        "ps", "-a", "--filter", `label=${LABEL_MANAGED}=true`,
        "--filter", `label=${LABEL_GATEWAY}=${ctx.gateway.gateway.config.gatewayName}`, "--format", "{{.Names}}",
      );
      return names ? names.split("\n").length : 0;
    },
  });
});
