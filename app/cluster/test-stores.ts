/** Test helper: Redis routing stores as several gateways of one cluster, closed together. */
import { RedisRoutingStore, type RedisStoreOptions } from "./redis-store.ts";

let clusters = 0;

/** A fresh cluster name per call, so cases sharing one redis-server never see each other's keys. */
export function clusterName(): string {
  return `t${process.pid}-${++clusters}`;
}

/** Connected stores named gw-0..gw-<n-1> in one cluster on `url`; `close()` closes every one. */
export async function connectStores(url: string, n: number, options: Partial<RedisStoreOptions> = {}) {
  const cluster = clusterName();
  const stores = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const store = new RedisRoutingStore({ url, clusterName: cluster, gatewayId: `gw-${i}`, heartbeatMs: 200, ...options });
      await store.connect();
      return store;
    }),
  );
  return { cluster, stores, close: () => Promise.all(stores.map((store) => store.close())) };
}
