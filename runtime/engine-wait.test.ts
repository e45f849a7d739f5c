/**
 * The engine wait's request, against a stand-in engine on a Unix socket (the podman conformance tests in
 * podman-driver.test.ts run the same code against real Podman: a container killed from outside resolves).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EngineWaitError, LIBPOD_WAIT_INTERVAL, waitForExit } from "./engine-wait.ts";

const dir = mkdtempSync(join(tmpdir(), "te-engine-wait-"));
const socket = join(dir, "engine.sock");
const requests: Array<{ method: string; path: string; query: string }> = [];
let exitAfterMs = 50;
const server = Bun.serve({
  unix: socket,
  async fetch(request) {
    const url = new URL(request.url);
    requests.push({ method: request.method, path: url.pathname, query: url.search });
    if (url.pathname.includes("/gone/")) return new Response("no such container\n", { status: 404 });
    await Bun.sleep(exitAfterMs);
    return new Response("137\n");
  },
});
afterAll(() => {
  server.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

describe("engine wait", () => {
  const podman = { name: "podman" as const, dockerHost: `unix://${socket}` };

  test("on Podman it long-polls the libpod endpoint at a bounded interval and resolves the exit code", async () => {
    expect(await waitForExit(podman, "abc123")).toBe(137);
    expect(requests.at(-1)).toEqual({
      method: "POST",
      path: "/v4.0.0/libpod/containers/abc123/wait",
      query: `?condition=stopped&condition=exited&interval=${LIBPOD_WAIT_INTERVAL}`,
    });
  });

  test("a container the engine does not know rejects with status 404", async () => {
    const error = await waitForExit(podman, "gone").catch((e) => e);
    expect(error).toBeInstanceOf(EngineWaitError);
    expect(error.statusCode).toBe(404);
    expect(error.message).toContain("gone");
  });

  test("the signal abandons a wait the engine has not answered", async () => {
    exitAfterMs = 5_000;
    const controller = new AbortController();
    const waiting = waitForExit(podman, "slow", controller.signal);
    await Bun.sleep(20);
    controller.abort();
    await expect(waiting).rejects.toThrow();
    exitAfterMs = 50;
  });
});
