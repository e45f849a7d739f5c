/**
 * The status stream tells a clustered gateway's page at once when the routing store becomes unavailable and
 * available again: no gateway event says so, so the hub notices it on its sampling tick instead of waiting for
 * its heartbeat push (set to ten minutes here, so only the availability check can deliver it).
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { startTestGateway, type TestGateway } from "../../test/gateway.ts";
import { redisServerPath, redisTest, startRedis, type TestRedis } from "../../test/redis.ts";
import { SnapshotReader } from "../../test/snapshot-reader.ts";
import { pollUntil } from "../../test/wait.ts";
import { StatusHub } from "./hub.ts";

let redis: TestRedis | undefined;
let gw: TestGateway | undefined;
beforeAll(async () => {
  if (!redisServerPath) return;
  redis = await startRedis();
  gw = await startTestGateway({
    ROUTING_STORE: "redis",
    REDIS_URL: redis.url,
    ROUTING_MODE: "shared",
    CONTAINER_DRIVER: "process",
    TRANSCRIBER_BACKEND: "echo",
  });
});
afterAll(async () => {
  await gw?.stop();
  await redis?.stop();
});

redisTest("Redis killed: a snapshot with store.available false within 3 s; Redis back: available again", async () => {
  const hub = new StatusHub(gw!.gateway.state, { heartbeatMs: 600_000, sampleEveryMs: 200 });
  const stream = new SnapshotReader(hub.connect(new Request("http://127.0.0.1/status/events")));
  try {
    await stream.until((s) => s.store.kind === "redis" && s.store.available);
    await redis!.kill();
    const killedAt = performance.now();
    await stream.until((s) => !s.store.available, 3_000);
    const downMs = performance.now() - killedAt;
    const down = stream.snapshots.findIndex((s) => !s.store.available);
    await redis!.restart();
    // Only snapshots after the one saying unavailable count.
    await pollUntil(() => stream.snapshots.slice(down).some((s) => s.store.available), "a snapshot saying available again", 5_000);
    console.log(`[store-push] unavailable pushed ${Math.round(downMs)} ms after the kill`);
  } finally {
    await stream.close();
    hub.close();
  }
});
