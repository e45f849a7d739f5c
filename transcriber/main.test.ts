/** The entry point as the container runs it: a separate process, configured by environment, stopped by signal. */
import { describe, expect, test } from "bun:test";
import { TestClient } from "../test/client.ts";
import { EXPECTED_OPUS_BUILD } from "../test/opus-build.ts";

const MAIN = new URL("./main.ts", import.meta.url).pathname;

function spawnMain(env: Record<string, string>) {
  return Bun.spawn([process.execPath, MAIN], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
}

/** Collects stdout in the background; `waitFor(msg)` resolves with the first JSON log line with that `msg`. */
function logLines(stdout: ReadableStream<Uint8Array>) {
  let text = "";
  const finished = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of stdout as unknown as AsyncIterable<Uint8Array>) text += decoder.decode(chunk);
  })();
  const find = (msg: string) => text.split("\n").find((line) => line.includes(`"msg":"${msg}"`));
  return {
    text: () => text,
    finished,
    async waitFor(msg: string): Promise<Record<string, unknown>> {
      for (let waitedMs = 0; waitedMs < 10_000; waitedMs += 10) {
        const line = find(msg);
        if (line) return JSON.parse(line);
        await Bun.sleep(10);
      }
      throw new Error(`no "${msg}" log line in: ${text}`);
    },
  };
}

describe("transcriber/main.ts", () => {
  test("a bad variable exits 1 with one line naming it", async () => {
    const child = spawnMain({ TRANSCRIBER_BACKEND: "echo", PORT: "eighty" });
    expect(await child.exited).toBe(1);
    const stderr = await new Response(child.stderr).text();
    expect(stderr.trim().split("\n")).toEqual([expect.stringContaining("PORT")]);
  });

  test("TRANSCRIBER_BACKEND=local with a model directory that is not there exits 1 with one line naming the file", async () => {
    const child = spawnMain({ TRANSCRIBER_BACKEND: "local", PORT: "0", HOST: "127.0.0.1", LOCAL_MODEL_DIR: "/nonexistent/model" });
    expect(await child.exited).toBe(1);
    const stderr = await new Response(child.stderr).text();
    expect(stderr.trim().split("\n")).toEqual([
      expect.stringMatching(/^(LOCAL_MODEL_DIR: \/nonexistent\/model\/en-us is missing|local recognizer: \S+ is missing)/),
    ]);
  });

  test("SIGTERM ends open sessions with 1012 (reconnect) and exits promptly, never logging the API key", async () => {
    const child = spawnMain({ PORT: "0", HOST: "127.0.0.1", OPENAI_API_KEY: "sk-secret-value", OPENAI_BASE_URL: "https://127.0.0.1:9/v1" });
    const logs = logLines(child.stdout);
    const listening = await logs.waitFor("Transcriber listening");
    // Where Debian's libopus0 is installed (CI installs it), the native build decodes.
    expect(listening.opus).toMatch(EXPECTED_OPUS_BUILD);
    const client = TestClient.listen(`ws://127.0.0.1:${listening.port}`);
    await client.opened;
    const signalledAt = Date.now();
    child.kill("SIGTERM");
    expect((await client.closed).code).toBe(1012);
    expect(client.ofType("Error").map((m) => m.code)).toEqual(["container_stopped"]);
    expect(await child.exited).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(5_500);
    await logs.finished;
    expect(logs.text()).toContain("Transcriber stopped");
    expect(logs.text()).not.toContain("sk-secret-value");
  });
});
