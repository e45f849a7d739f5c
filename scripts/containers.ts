/**
 * `npm run containers -- list [--json]`: the cluster's containers (every gateway with this GATEWAY_NAME) as the
 * container engine has them: instance, container id, the gateway that started it, state, where it runs, age.
 * Reads the gateway's own settings from the environment (GATEWAY_NAME, CONTAINER_DRIVER, DOCKER_HOST); under
 * the process driver it asks the gateway at GATEWAY_URL (default http://localhost:$PORT, with ADMIN_TOKEN).
 * Exit 0 listed, 1 could not list, 2 bad usage.
 */
import { ListError, listContainers } from "./containers/sources.ts";
import { formatTable } from "./containers/table.ts";

const USAGE = "usage: npm run containers -- list [--json] | drain HOST [--wait] | undrain HOST";
const [command = "list", ...flags] = process.argv.slice(2);
if (command === "drain" || command === "undrain")
  process.exit(await (await import("./containers/drain.ts")).drainCommand(command, process.argv.slice(3)));
if (command !== "list") {
  console.error(`containers: unknown command '${command}' (expected: list, drain or undrain). ${USAGE}`);
  process.exit(2);
}
const unknown = flags.filter((flag) => flag !== "--json");
if (unknown.length > 0) {
  console.error(`containers: unknown option '${unknown[0]}'. ${USAGE}`);
  process.exit(2);
}

try {
  const listing = await listContainers(process.env);
  if (flags.includes("--json")) console.log(JSON.stringify(listing, null, 2));
  else if (listing.rows.length === 0) console.log(`no containers in cluster '${listing.cluster}' (${listing.source})`);
  else console.log(formatTable(listing.rows));
} catch (error) {
  if (!(error instanceof ListError)) throw error;
  console.error(`containers: ${error.message}`);
  process.exit(1);
}
