/**
 * The cluster section's gateways and clients: three gateway processes of one new cluster on a Redis, stopped
 * together (with any container a SIGKILLed one left), sessions opened and held, and the open-session count
 * summed over the gateways.
 */
import { type GatewayProcess, removeLeftovers, startGateway } from "../procs.ts";

let clusters = 0;

/** Three gateways of one new cluster on `redisUrl`, gw-1..gw-3, each with `env`. */
export async function startCluster(redisUrl: string, env: Record<string, string>): Promise<{ name: string; gateways: GatewayProcess[] }> {
  const name = `bench-cluster-${process.pid}-${++clusters}`;
  const gateways: GatewayProcess[] = [];
  // One after another: a gateway registers before it listens, so each one starts into a running cluster.
  for (const id of ["gw-1", "gw-2", "gw-3"]) {
    gateways.push(await startGateway({ ...env, ROUTING_STORE: "redis", REDIS_URL: redisUrl, GATEWAY_NAME: name, GATEWAY_ID: id }));
  }
  return { name, gateways };
}

/** Stops `gateways` (SIGTERM); with `clusterName`, then removes every container still labelled with it. */
export async function stopAll(gateways: GatewayProcess[], clusterName?: string): Promise<void> {
  await Promise.all(gateways.map((g) => g.stop()));
  if (clusterName) removeLeftovers(clusterName); // containers of a SIGKILLed gateway
}

/** Opens every URL at once; resolves with the sockets once each has its first message (the Metadata). */
export async function openAll(urls: string[]): Promise<WebSocket[]> {
  return Promise.all(
    urls.map(
      (url) =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(url);
          ws.onmessage = () => resolve(ws);
          ws.onclose = (e) => reject(new Error(`${url.split("?")[0]} closed ${e.code} before Metadata`));
        }),
    ),
  );
}

/** Open sessions over `gateways`, each counting its own. */
export async function openSessions(gateways: GatewayProcess[]): Promise<number> {
  const docs = await Promise.all(gateways.map((g) => g.stats()));
  return docs.reduce((sum, doc) => sum + doc.totals.openSessions, 0);
}
