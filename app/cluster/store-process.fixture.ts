/**
 * A gateway's routing store in its own process, for tests that SIGKILL it: connects to the cluster named by
 * argv (url, cluster, gateway id, sessions), binds that many sessions on pool-1, prints "bound" and waits.
 */
import { RedisRoutingStore } from "./redis-store.ts";

const [url, clusterName, gatewayId, sessions] = process.argv.slice(2) as [string, string, string, string];
const store = new RedisRoutingStore({ url, clusterName, gatewayId });
await store.connect();
for (let i = 0; i < Number(sessions); i++) store.bind(`doomed-${i}`, "pool-1", Date.now());
await store.settled();
console.log("bound");
setInterval(() => {}, 1000);
