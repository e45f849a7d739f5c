import { expect, test } from "bun:test";

async function runMain(env: Record<string, string>) {
  const child = Bun.spawn([process.execPath, "app/main.ts"], {
    cwd: `${import.meta.dir}/..`,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  return { stdout, stderr, code };
}

test.each([
  [{ ROUTING_MODE: "fastest" }, "configuration error: ROUTING_MODE: expected one of pool, session, shared, autoscale (got 'fastest')"],
  [{ SLEEP_AFTER: "soon" }, "configuration error: SLEEP_AFTER: expected a duration such as 30s, 5m or 1h (got 'soon')"],
  [{ CONTAINER_POOL_SIZE: "-3" }, "configuration error: CONTAINER_POOL_SIZE: expected an integer from 1 to 1000 (got '-3')"],
])("the gateway refuses to start with %p, printing one line that names it", async (env, line) => {
  const { stderr, code } = await runMain(env);
  expect(code).toBe(1);
  expect(stderr.trim()).toBe(line);
});
