/**
 * Affinity through any gateway, on the real engine: three clustered gateways (one Redis, HAProxy round robin in
 * front, echo transcribers). Pool: a session id gets the same member through every gateway, and the container a
 * peer started serves it warm, one container per member for the whole cluster. Session: a reconnect through
 * another gateway within SLEEP_AFTER lands on the same warm container.
 */
import { beforeAll, expect } from "bun:test";
import { EchoSession } from "../../../test/cluster/echo-session.ts";
import { clusterTest, expectCleanEnd, prepareImage } from "../../../test/cluster/fault-test.ts";
import { TestCluster } from "../../../test/cluster/harness.ts";

beforeAll(prepareImage, 300_000);

/** Opens `sessionId` through `listenUrl`, streams until its Metadata and a few echoes came; left open. */
async function openFlowing(listenUrl: string, sessionId: string): Promise<{ session: EchoSession; metadata: any }> {
  const session = new EchoSession(listenUrl, sessionId);
  await session.start();
  await session.flowing(3);
  return { session, metadata: await session.metadata() };
}

/** Closes every session; each must end 1000 with every frame echoed in order. */
async function closeAll(sessions: EchoSession[]): Promise<void> {
  const outcomes = await Promise.all(sessions.map((s) => s.finish()));
  for (const [i, outcome] of outcomes.entries()) {
    expect({ id: sessions[i]!.sessionId, ...outcome }).toEqual({
      id: sessions[i]!.sessionId,
      code: 1000,
      sent: outcome.sent,
      echoed: outcome.sent,
    });
  }
}

clusterTest(
  "pool: one session id gets the same member through each of three gateways, served warm by the container a peer started",
  async () => {
    const cluster = await TestCluster.start({ env: { ROUTING_MODE: "pool", CONTAINER_POOL_SIZE: "3", SLEEP_AFTER: "30s" } });
    try {
      const [a, b, c] = cluster.ids.map((id) => cluster.gateway(id));
      const ids = ["alice", "bob", "carol", "dave"];
      // gw-a starts each member; gw-b and gw-c must find its container rather than start their own.
      const first = await Promise.all(ids.map((id) => openFlowing(a!.listenUrl, id)));
      const later = await Promise.all(ids.flatMap((id) => [openFlowing(b!.listenUrl, id), openFlowing(c!.listenUrl, id)]));
      ids.forEach((id, i) => {
        const members = [first[i]!, later[2 * i]!, later[2 * i + 1]!].map((s) => s.metadata.container);
        expect({ id, members }).toEqual({ id, members: [members[0], members[0], members[0]] });
      });
      expect(later.map((s) => s.metadata.start)).toEqual(later.map(() => "warm"));
      expect([first[0]!, later[0]!, later[1]!].map((s) => s.metadata.gateway)).toEqual(cluster.ids);
      const used = new Set(first.map((s) => s.metadata.container));
      expect(used.size).toBeGreaterThan(1); // the ids really spread over members
      const running = await cluster.containers({ running: true });
      expect(running.map((r) => r.instance).sort()).toEqual([...used].sort()); // one container per member, cluster-wide
      expect(new Set(running.map((r) => r.replica))).toEqual(new Set(["gw-a"]));

      // Through HAProxy: three consecutive connects of one client reach three gateways and one member.
      const viaProxy: Array<{ session: EchoSession; metadata: any }> = [];
      for (let i = 0; i < 3; i++) viaProxy.push(await openFlowing(cluster.listenUrl, "alice"));
      expect(viaProxy.map((s) => s.metadata.container)).toEqual(viaProxy.map(() => first[0]!.metadata.container));
      expect(viaProxy.map((s) => s.metadata.gateway).sort()).toEqual(cluster.ids);
      await closeAll([...first, ...later, ...viaProxy].map((s) => s.session));
      await expectCleanEnd(cluster);
    } finally {
      await cluster.stop();
    }
  },
  120_000,
);

clusterTest(
  "session: a reconnect through another gateway within SLEEP_AFTER lands on the same warm container",
  async () => {
    const cluster = await TestCluster.start({ env: { ROUTING_MODE: "session", MAX_INSTANCES: "6", SLEEP_AFTER: "20s" } });
    try {
      const [a, b] = cluster.ids.map((id) => cluster.gateway(id));
      const first = await openFlowing(a!.listenUrl, "user-42");
      expect(first.metadata.start).toBe("cold");
      const [container] = await cluster.containers({ running: true });
      expect(container?.instance).toBe(first.metadata.container);
      await closeAll([first.session]);

      // Closed on gw-a; the client comes back through gw-b, then three times through HAProxy.
      const again = await openFlowing(b!.listenUrl, "user-42");
      expect([again.metadata.container, again.metadata.start, again.metadata.gateway]).toEqual([first.metadata.container, "warm", "gw-b"]);
      await closeAll([again.session]);
      const viaProxy: Array<{ session: EchoSession; metadata: any }> = [];
      for (let i = 0; i < 3; i++) {
        const reconnect = await openFlowing(cluster.listenUrl, "user-42");
        await closeAll([reconnect.session]);
        viaProxy.push(reconnect);
      }
      expect(viaProxy.map((s) => [s.metadata.container, s.metadata.start])).toEqual(viaProxy.map(() => [first.metadata.container, "warm"]));
      expect(viaProxy.map((s) => s.metadata.gateway).sort()).toEqual(cluster.ids);
      // Still the one container gw-a started: nobody started a second one for the same id.
      expect((await cluster.containers({ running: true })).map((c) => c.id)).toEqual([container!.id]);
      await expectCleanEnd(cluster);
    } finally {
      await cluster.stop();
    }
  },
  120_000,
);
