/** End to end with the process driver: each instance a local Bun subprocess running transcriber/. */
import { describe, test } from "bun:test";
import { endToEndScenarios } from "../test/scenarios.ts";

function instancePid(containerId: string | null | undefined): number {
  const pid = Number(containerId?.replace(/^pid:/, ""));
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`not a process-driver container id: ${containerId}`);
  return pid;
}

describe("end to end (process driver)", () => {
  const pids = new Set<number>();
  endToEndScenarios(
    test,
    { CONTAINER_DRIVER: "process" },
    {
      async killInstance(ctx, instanceId) {
        const pid = instancePid(ctx.gateway.gateway.state.registry.get(instanceId).snapshot().containerId);
        pids.add(pid);
        process.kill(pid, "SIGKILL");
      },
      async stopInstance(ctx, instanceId) {
        const pid = instancePid(ctx.gateway.gateway.state.registry.get(instanceId).snapshot().containerId);
        pids.add(pid);
        process.kill(pid, "SIGTERM");
      },
      async leftovers(ctx) {
        for (const instance of ctx.gateway.gateway.state.registry.list()) {
          const id = instance.snapshot().containerId;
          if (id) pids.add(instancePid(id));
        }
        return [...pids].filter((pid) => {
          try {
            process.kill(pid, 0);
            return true;
          } catch {
            return false;
          }
        }).length;
      },
    },
  );
});
