/** The engine's own view of the project's containers, through the podman CLI (what an operator would run). */
import { LABEL_GATEWAY, LABEL_MANAGED } from "../runtime/driver.ts";

/** Runs `podman ARGS`; throws with its stderr on failure. */
export async function podman(...args: string[]): Promise<string> {
  const child = Bun.spawn(["podman", ...args], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`podman ${args.join(" ")} failed: ${err.trim()}`);
  return out.trim();
}

/** Names of the containers a gateway labelled; only running ones with `running`. */
export async function containersOf(gatewayName: string, options: { running?: boolean } = {}): Promise<string[]> {
  const args = [
    "ps",
    "--filter",
    `label=${LABEL_MANAGED}=true`,
    "--filter",
    `label=${LABEL_GATEWAY}=${gatewayName}`,
    "--format",
    "{{.Names}}",
  ];
  if (!options.running) args.splice(1, 0, "-a");
  const out = await podman(...args);
  return out ? out.split("\n") : [];
}

/** Instance ids of a gateway's running containers, read from the engine (container names carry them). */
export async function runningInstanceIds(gatewayName: string): Promise<string[]> {
  const names = await containersOf(gatewayName, { running: true });
  const pattern = new RegExp(`^te-${gatewayName}-(.+)-[0-9a-f]{8}$`);
  return names.map((name) => pattern.exec(name)?.[1] ?? name).sort();
}
