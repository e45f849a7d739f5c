/**
 * Fault 1: a transcriber container SIGKILLed under 10 streaming sessions (real engine, pool of 2, echo backend
 * so every frame comes back and can be counted).
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { ensureImage } from "../../runtime/image-build.ts";
import { TestClient } from "../../test/client.ts";
import { engine, engineTest } from "../../test/engine.ts";
import { startTestGateway, type TestGateway } from "../../test/gateway.ts";

/** SIGKILL through the engine API: the podman CLI takes half a second to start, which would blur the timing. */
async function killContainer(containerId: string): Promise<void> {
  const response = await fetch(`http://engine/containers/${containerId}/kill?signal=SIGKILL`, {
    method: "POST",
    unix: engine!.dockerHost.replace(/^unix:\/\//, ""),
  });
  if (!response.ok) throw new Error(`kill ${containerId}: ${response.status} ${await response.text()}`);
}

/** A numbered frame: the echo backend returns it as is, so the client can tell which ones came back. */
function frame(seq: number): Uint8Array {
  const bytes = new Uint8Array(160);
  new DataView(bytes.buffer).setUint32(0, seq);
  return bytes;
}

function seqOf(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset).getUint32(0);
}

/** Sends numbered frames every 20 ms until stopped or closed; resolves with how many went out. */
function streamNumbered(client: TestClient, shouldStop: () => boolean): Promise<number> {
  return (async () => {
    let seq = 0;
    while (!shouldStop() && client.ws.readyState === WebSocket.OPEN) {
      client.send(frame(seq++));
      await Bun.sleep(20);
    }
    return seq;
  })();
}

describe("fault: a container killed under load", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    if (!engine) return;
    await ensureImage({ log: (line: string) => console.log(`[image] ${line}`) });
    gw = await startTestGateway({
      ROUTING_MODE: "pool",
      CONTAINER_POOL_SIZE: "2",
      POOL_PREWARM: "true",
      CONTAINER_DRIVER: "podman",
      CONTAINER_NETWORK: "host",
      TRANSCRIBER_BACKEND: "echo",
    });
  }, 300_000);
  afterAll(() => gw?.stop());

  engineTest(
    "its sessions get Error + 1012 within 1 s, the other container's lose no frame, counters stay true",
    async () => {
      // Five session ids per member, picked through the (pure) routing decision.
      const ids: Record<string, string[]> = { "pool-0": [], "pool-1": [] };
      for (let i = 0; ids["pool-0"]!.length < 5 || ids["pool-1"]!.length < 5; i++) {
        const decision = gw.gateway.state.selector.route({ sessionId: `kill-${i}` });
        if (decision.ok && ids[decision.instanceId]!.length < 5) ids[decision.instanceId]!.push(`kill-${i}`);
      }
      const open = (id: string) => TestClient.connect(`${gw.listenUrl}?sessionId=${id}`);
      const victims = ids["pool-0"]!.map(open);
      const survivors = ids["pool-1"]!.map(open);
      const metadata = await Promise.all([...victims, ...survivors].map((c) => c.next("Metadata", 30_000)));
      expect(metadata.slice(0, 5).every((m) => m.container === "pool-0")).toBe(true);
      expect(metadata.slice(5).every((m) => m.container === "pool-1")).toBe(true);

      let stopSurvivors = false;
      const sent = survivors.map((c) => streamNumbered(c, () => stopSurvivors));
      const victimStreams = victims.map((c) => streamNumbered(c, () => false));
      await Bun.sleep(1000);

      const containerId = gw.gateway.state.registry.get("pool-0").containerId!;
      const killStartedAt = performance.now();
      await killContainer(containerId);
      const killedAt = performance.now();
      const closes = await Promise.all(victims.map(async (c) => ({ ...(await c.closed), atMs: performance.now() - killStartedAt })));
      await Promise.all(victimStreams);
      const slowestMs = Math.max(...closes.map((c) => c.atMs));
      console.log(
        `[fault kill] SIGKILL via the engine API took ${(killedAt - killStartedAt).toFixed(0)} ms; its 5 sessions closed 1012 within ${slowestMs.toFixed(0)} ms of the kill being sent`,
      );
      expect(closes.map((c) => c.code)).toEqual([1012, 1012, 1012, 1012, 1012]);
      for (const victim of victims) expect(victim.ofType("Error").at(-1)?.code).toBe("container_stopped");
      expect(slowestMs).toBeLessThan(1000);

      // The other member's sessions keep streaming through the crash; then every frame must have come back.
      await Bun.sleep(1000);
      stopSurvivors = true;
      const sentCounts = await Promise.all(sent);
      await Promise.all(
        survivors.map((c, i) => c.until(() => c.binary.length >= sentCounts[i]!, 10_000, `${sentCounts[i]} echoed frames`)),
      );
      survivors.forEach((c, i) => {
        expect(c.binary.map(seqOf)).toEqual(Array.from({ length: sentCounts[i]! }, (_, seq) => seq));
        expect(c.ofType("Error")).toEqual([]);
      });
      console.log(`[fault kill] the 5 sessions on pool-1 sent and got back ${sentCounts.join(", ")} frames: none lost`);

      // The killed member comes back by itself (a pool routes around a failed member) and serves the next session.
      const pool0 = gw.gateway.state.registry.get("pool-0");
      for (let i = 0; i < 300 && pool0.stateName !== "running"; i++) await Bun.sleep(50);
      expect(pool0.containerId).not.toBe(containerId);
      const next = open(ids["pool-0"]![0]!);
      expect((await next.next("Metadata", 30_000)).container).toBe("pool-0");
      expect(pool0.wakes).toBe(1);
      next.send(frame(7));
      await next.until(() => next.binary.length === 1, 10_000, "the echo");

      // Counters: what /stats and the coordinator say equals the sessions held open here (1 on pool-0, 5 on pool-1).
      const stats = await gw.stats();
      const byId = Object.fromEntries(stats.instances.map((i: any) => [i.id, i.connections]));
      expect(byId).toEqual({ "pool-0": 1, "pool-1": 5 });
      expect(stats.totals.openSessions).toBe(6);
      const coordinator = Object.fromEntries(stats.coordinator.instances.map((i: any) => [i.id, i.sessions]));
      expect(coordinator).toMatchObject({ "pool-0": 1, "pool-1": 5 });

      for (const c of [next, ...survivors]) c.send({ type: "CloseStream" });
      expect((await Promise.all([next, ...survivors].map((c) => c.closed))).map((c) => c.code)).toEqual(Array(6).fill(1000));
      const after = await gw.stats();
      expect(after.totals.openSessions).toBe(0);
      expect(after.instances.map((i: any) => i.connections)).toEqual([0, 0]);
      expect(after.coordinator.totalSessions).toBe(0);
    },
    120_000,
  );
});
