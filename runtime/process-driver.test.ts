import { driverConformance } from "./driver-conformance.ts";
import { isAlive, ProcessDriver } from "./process-driver.ts";

const pidOf = (id: string) => Number(id.slice("pid:".length));

driverConformance("process", async () => ({
  driver: new ProcessDriver({ stdio: "ignore" }),
  env: { TRANSCRIBER_BACKEND: "echo" },
  kill: async (container) => void process.kill(pidOf(container.id), "SIGKILL"),
  exists: async (container) => isAlive(pidOf(container.id)),
}));
