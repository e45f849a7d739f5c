/** The Redis routing store against a real redis-server: the shared conformance suite. */
import { afterAll, beforeAll } from "bun:test";
import { storeConformance } from "../routing/store-conformance.ts";
import { redisServerPath, redisTest, startRedis, type TestRedis } from "../../test/redis.ts";
import { RedisRoutingStore } from "./redis-store.ts";

let redis: TestRedis | undefined;
let counter = 0;
beforeAll(async () => {
  if (redisServerPath) redis = await startRedis();
});
afterAll(() => redis?.stop());

storeConformance(
  "RedisRoutingStore",
  async () => {
    const store = new RedisRoutingStore({ url: redis!.url, clusterName: `conf-${++counter}`, gatewayId: "gw-test" });
    await store.connect();
    return store;
  },
  { register: redisTest },
);
