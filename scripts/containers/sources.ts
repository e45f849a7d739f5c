/**
 * Where `npm run containers -- list` reads the cluster's containers: the container engine the gateways use
 * (its driver's list(), by the cluster's GATEWAY_NAME label, whichever gateway started them), or, when that
 * is the process driver, the gateway at GATEWAY_URL (its transcribers are its own child processes, which no
 * engine knows of). Failures are typed, each with the one line the CLI prints.
 */
import { ConfigError, kubernetesSettings, loadConfig } from "../../app/config.ts";
import { createDriver } from "../../runtime/detect.ts";
import { type ContainerRow, rowsFromEngine, rowsFromStats, type StatsForList } from "./rows.ts";

/** Why the list could not be read; `message` is the line to print. */
export class ListError extends Error {
  override name = "ListError";
}

export interface Listing {
  /** `engine` (DOCKER_HOST or the socket found) or `gateway` (GATEWAY_URL). */
  source: string;
  cluster: string;
  rows: ContainerRow[];
}

type Env = Record<string, string | undefined>;

/** The cluster's containers as the engine (or, under the process driver, the gateway) has them. */
export async function listContainers(env: Env, nowMs = Date.now()): Promise<Listing> {
  let config: ReturnType<typeof loadConfig>;
  try {
    // The gateway's own validation of what is read here (GATEWAY_NAME, CONTAINER_DRIVER, DOCKER_HOST, ...); the
    // list starts no transcriber, so the backend's needs (an OpenAI key) are not asked for.
    config = loadConfig({ ...env, TRANSCRIBER_BACKEND: "echo" });
  } catch (error) {
    if (error instanceof ConfigError) throw new ListError(error.message);
    throw error;
  }
  let engineAt = "";
  const driver = await createDriver(config.containerDriver, {
    gatewayName: config.gatewayName,
    network: config.containerNetwork,
    socketParentDir: config.transcriberSocketDir,
    image: config.transcriberImage,
    dockerHost: config.dockerHost,
    engineHosts: config.engineHosts,
    kubernetes: kubernetesSettings(config),
    env,
    onChoice: (description) => void (engineAt = description),
  }).catch((error: Error) => {
    throw new ListError(error.message);
  });
  if (driver.name === "process") return { source: gatewayUrl(env), cluster: config.gatewayName, rows: await fromGateway(env, nowMs) };
  try {
    return { source: engineAt, cluster: config.gatewayName, rows: rowsFromEngine(await driver.list(), nowMs) };
  } catch (error) {
    throw new ListError(`the engine did not list the containers (${(error as Error).message})`);
  } finally {
    await driver.close(); // it started nothing: nothing to stop
  }
}

function gatewayUrl(env: Env): string {
  return env.GATEWAY_URL ?? `http://localhost:${env.PORT ?? 8080}`;
}

async function fromGateway(env: Env, nowMs: number): Promise<ContainerRow[]> {
  const base = gatewayUrl(env);
  const headers: Record<string, string> = env.ADMIN_TOKEN ? { authorization: `Bearer ${env.ADMIN_TOKEN}` } : {};
  let response: Response;
  try {
    response = await fetch(`${base}/stats`, { headers, signal: AbortSignal.timeout(5000) });
  } catch (error) {
    throw new ListError(`no gateway answered at ${base} (${(error as Error).message}); set GATEWAY_URL`);
  }
  if (!response.ok) {
    throw new ListError(`${base}/stats answered HTTP ${response.status}${response.status === 401 ? " (set ADMIN_TOKEN)" : ""}`);
  }
  return rowsFromStats((await response.json()) as StatsForList, nowMs);
}
