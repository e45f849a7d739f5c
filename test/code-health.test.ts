/**
 * The type checker and the formatter are part of the suite: `tsc --noEmit` over the whole tree and Biome's format
 * check (`npm run format` rewrites). A failure prints the tools' own output, naming the file and line.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const bin = (name: string) => join(root, "node_modules", ".bin", name);

async function run(argv: string[]): Promise<{ code: number; output: string }> {
  const child = Bun.spawn(argv, { cwd: root, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, output: `${stdout}${stderr}`.trim() };
}

describe("code health", () => {
  test("tsc --noEmit reports no type error anywhere in the tree", async () => {
    const { code, output } = await run([bin("tsc"), "--noEmit", "-p", root]);
    if (code !== 0) console.error(output);
    expect(output.match(/error TS\d+/g) ?? []).toEqual([]);
    expect(code).toBe(0);
  });

  test("every source file is formatted as biome.json says", async () => {
    const { code, output } = await run([bin("biome"), "format", root]);
    if (code !== 0) console.error(output);
    expect(code).toBe(0);
  });
});
