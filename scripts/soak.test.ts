/** The soak's CI variant: 30 s, a fault every 5 s, on the real engine; the script exits 1 on drift or a leak. */
import { expect } from "bun:test";
import { engineTest } from "../test/engine.ts";

engineTest(
  "a 30-second soak over all four modes with a fault every 5 s ends with no drift, no leak, no lost frame",
  async () => {
    const child = Bun.spawn([process.execPath, "scripts/soak.ts", "--minutes", "0.5", "--fault-every", "5"], {
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
    expect(code).toBe(0);
    expect(out).toContain("[soak] OK");
  },
  120_000,
);
