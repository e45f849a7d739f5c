import { driverConformance } from "./driver-conformance.ts";
import { ProcessDriver } from "./process-driver.ts";

/** Whether a pid still exists (signal 0 probes without signalling). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const pidOf = (id: string) => Number(id.slice("pid:".length));

driverConformance("process", async () => ({
  driver: new ProcessDriver({ stdio: "ignore" }),
  env: { TRANSCRIBER_BACKEND: "echo" },
  kill: async (container) => void process.kill(pidOf(container.id), "SIGKILL"),
  exists: async (container) => pidAlive(pidOf(container.id)),
}));
