/**
 * On the real engine: every transcriber container runs confined (runtime/hardening.ts) and still serves a
 * session, and a user-supplied sessionId reaches neither its name nor its configuration.
 */
import { beforeAll, expect } from "bun:test";
import { TestClient } from "../test/client.ts";
import { engine, engineTest } from "../test/engine.ts";
import { startTestGateway } from "../test/gateway.ts";
import { podman } from "../test/podman.ts";
import { ensureImage } from "./image-build.ts";

beforeAll(async () => {
  if (engine) await ensureImage({ log: (line: string) => console.log(`[image] ${line}`) });
}, 300_000);

engineTest(
  "containers run hardened (caps, no-new-privileges, read-only root, limits, non-root) and serve a session",
  async () => {
    const gw = await startTestGateway({
      CONTAINER_DRIVER: "podman",
      ROUTING_MODE: "session",
      TRANSCRIBER_BACKEND: "echo",
      CONTAINER_MEMORY: "384m",
      CONTAINER_CPUS: "0.5",
      CONTAINER_PIDS: "128",
    });
    // Passes the sessionId schema, yet is full of what a path or a shell would interpret.
    const sessionId = "a:..:b.c";
    try {
      const client = TestClient.listen(gw.listenUrl.replace("/v1/listen", ""), `sessionId=${sessionId}&encoding=opus`);
      const metadata = await client.next("Metadata", 20_000);
      const frame = new Uint8Array([0xfc, 0xff, 0xfe, 1, 2, 3]);
      client.send(frame);
      await client.until(() => client.binary.length > 0, 10_000, "the echoed frame");
      expect([...client.binary[0]!]).toEqual([...frame]);

      const containerId = gw.gateway.state.registry.get(metadata.container).snapshot().containerId!;
      const [inspect] = JSON.parse(await podman("inspect", containerId));
      const host = inspect.HostConfig;
      expect(inspect.EffectiveCaps ?? []).toEqual([]);
      expect(host.SecurityOpt).toContain("no-new-privileges");
      expect(host.ReadonlyRootfs).toBe(true);
      expect(host.Tmpfs["/tmp"]).toContain("noexec");
      expect(host.Memory).toBe(384 * 1024 * 1024);
      expect(host.NanoCpus).toBe(500_000_000);
      expect(host.PidsLimit).toBe(128);
      expect(inspect.Config.User).toBe("65532:65532");
      // What the kernel says about the running process, not just the configuration.
      const status = await Bun.file(`/proc/${inspect.State.Pid}/status`).text();
      expect(/^Uid:\s+(\d+)/m.exec(status)?.[1]).toBe("65532");
      expect(/^CapEff:\s+(\w+)/m.exec(status)?.[1]).toBe("0000000000000000");
      expect(/^NoNewPrivs:\s+(\d)/m.exec(status)?.[1]).toBe("1");

      expect(inspect.Name).not.toContain(sessionId);
      expect(inspect.Name).toMatch(/^te-[a-z0-9-]+-session-[0-9a-f]+-[0-9a-f]{8}$/);
      expect(JSON.stringify(inspect)).not.toContain(sessionId);
      client.send({ type: "CloseStream" });
      await client.closed;
    } finally {
      await gw.stop();
    }
  },
  120_000,
);
