import { afterAll, beforeAll, expect, test } from "bun:test";
import { TestClient } from "../test/client.ts";
import { startTestGateway, type TestGateway } from "../test/gateway.ts";

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    ROUTING_MODE: "pool",
    CONTAINER_POOL_SIZE: "2",
    CONTAINER_DRIVER: "process",
    TRANSCRIBER_BACKEND: "echo",
    ADMIN_TOKEN: "admin-secret",
  });
});
afterAll(() => gw.stop());

async function list(env: Record<string, string>) {
  const child = Bun.spawn([process.execPath, "scripts/containers.ts", "list"], {
    cwd: `${import.meta.dir}/..`,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, code };
}

test("containers list prints one line per instance of the running gateway: id, status, requests, connections", async () => {
  const client = TestClient.connect(`${gw.listenUrl}?sessionId=lister`);
  const metadata = await client.next("Metadata", 15_000);
  const { stdout, code } = await list({ GATEWAY_URL: gw.httpUrl, ADMIN_TOKEN: "admin-secret" });
  expect(code).toBe(0);
  expect(stdout.trim()).toBe(`ID: ${metadata.container} | Status: running | Requests: 1 | Connections: 1`);
  client.send({ type: "CloseStream" });
  await client.closed;
});

test("containers list without the admin token says which setting is missing", async () => {
  const { stderr, code } = await list({ GATEWAY_URL: gw.httpUrl });
  expect(code).toBe(1);
  expect(stderr.trim()).toBe(`containers: ${gw.httpUrl}/stats answered HTTP 401 (set ADMIN_TOKEN)`);
});
