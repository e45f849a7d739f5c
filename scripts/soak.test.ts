/**
 * The soak's CI variants, on the real engine; the script exits 1 on drift, a leak or a lost frame. The four
 * modes: 30 s, a fault every 5 s. The cluster mode: 45 s over three gateways, Redis and HAProxy, a gateway
 * SIGKILLed and restarted every 12 s, Redis restarted empty half way.
 */
import { expect } from "bun:test";
import { engineTest } from "../test/engine.ts";

/** Runs `bun scripts/soak.ts ARGS`, prints its [soak] lines, and resolves with its exit code and output. */
async function soak(args: string[]): Promise<{ code: number; out: string }> {
  const child = Bun.spawn([process.execPath, "scripts/soak.ts", ...args], {
    cwd: `${import.meta.dir}/..`,
    env: process.env,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  console.log(
    out
      .split("\n")
      .filter((line) => line.startsWith("[soak]"))
      .join("\n"),
  );
  if (code !== 0) console.log(err.slice(-3000));
  return { code, out };
}

engineTest(
  "a 30-second soak over all four modes with a fault every 5 s ends with no drift, no leak, no lost frame",
  async () => {
    const { code, out } = await soak(["--minutes", "0.5", "--fault-every", "5"]);
    expect(code).toBe(0);
    expect(out).toContain("[soak] OK");
  },
  120_000,
);

engineTest(
  "a 45-second cluster soak (3 gateways, a SIGKILL and restart every 12 s, one Redis restart) ends with no drift, no leak, no lost frame",
  async () => {
    const { code, out } = await soak(["--cluster", "--minutes", "0.75", "--kill-every", "12"]);
    expect(out).toMatch(/\[soak\] cluster \d+ s: \d+ sessions .*frames sent \d+, echoed \d+/);
    const faults = /faults: (.*)/.exec(out)?.[1]?.split(", ").sort();
    expect(faults).toEqual(["Redis restart (empty)", "SIGKILL gw-a", "SIGKILL gw-b", "SIGKILL gw-c"]);
    expect(code).toBe(0);
    expect(out).toContain("[soak] OK: cluster mode");
  },
  150_000,
);
