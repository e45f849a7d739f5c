/**
 * `npm run containers -- drain HOST [--wait]` and `undrain HOST`: no new instances on an engine host while it
 * is maintained. The marker is put on the host itself (runtime/engine-hosts/drain.ts), so every gateway of the
 * cluster stops placing there within a second, and it outlasts gateway restarts. Sessions on the host go on
 * until they end; each instance there moves to another host on its next wake. `--wait` returns once none of
 * the cluster's containers runs there any more. Reads ENGINE_HOSTS, ENGINE_TLS_DIR, ENGINE_HOST_ADDRESS_* and
 * GATEWAY_NAME like the gateway (CONFIG_FILE applied over the environment).
 */
import { withConfigFile } from "../../app/reload/env-file.ts";
import { LABEL_GATEWAY, LABEL_MANAGED } from "../../runtime/driver.ts";
import { engineClient } from "../../runtime/engine-hosts/client.ts";
import { EngineHostsConfigError, parseEngineHosts } from "../../runtime/engine-hosts/config.ts";
import { setDrained } from "../../runtime/engine-hosts/drain.ts";

type Env = Record<string, string | undefined>;

/** How often `--wait` counts the host's containers. */
const WAIT_POLL_MS = 2000;

/** Runs `drain`/`undrain` with `args` (HOST, maybe --wait); resolves the exit code. `print` takes each output line. */
export async function drainCommand(
  command: "drain" | "undrain",
  args: string[],
  env: Env = process.env,
  print = console.log,
): Promise<number> {
  const name = args.find((arg) => !arg.startsWith("--"));
  const fail = (line: string) => {
    console.error(`containers ${command}: ${line}`);
    return 2;
  };
  let hosts;
  try {
    hosts = parseEngineHosts(withConfigFile(env));
  } catch (error) {
    if (error instanceof EngineHostsConfigError) return fail(error.message);
    throw error;
  }
  if (!hosts) return fail("ENGINE_HOSTS is not set: with one engine there is no host to drain");
  const host = hosts.find((candidate) => candidate.name === name);
  if (!host) return fail(`expected one of ${hosts.map((h) => h.name).join(", ")} (got '${name ?? ""}')`);
  const gatewayName = withConfigFile(env).GATEWAY_NAME?.trim() || "default";
  const client = engineClient(host, env);
  const running = async () =>
    (await client.listContainers({ filters: { label: [`${LABEL_MANAGED}=true`, `${LABEL_GATEWAY}=${gatewayName}`], status: ["running"] } }))
      .length;
  try {
    await setDrained(client, gatewayName, command === "drain");
    if (command === "undrain") {
      print(`engine host ${host.name} (${host.endpoint}) undrained: instances are placed there again`);
      return 0;
    }
    print(
      `engine host ${host.name} (${host.endpoint}) drained: no new instances there; ${await running()} running finish their sessions and move on their next wake`,
    );
    if (!args.includes("--wait")) return 0;
    for (let left = await running(); left > 0; left = await running()) {
      print(`waiting: ${left} of the cluster's containers still run on ${host.name}`);
      await Bun.sleep(WAIT_POLL_MS);
    }
    print(`engine host ${host.name} runs none of the cluster's containers: ready for maintenance`);
    return 0;
  } catch (error) {
    console.error(`containers ${command}: engine host ${host.name} at ${host.endpoint} did not answer: ${(error as Error).message}`);
    return 1;
  }
}
