/**
 * `npm run dev` with no OPENAI_API_KEY on a machine with the recognizer: it says it uses the local recognizer,
 * routes by autoscale (one session per recognizer container), and two LibriVox clips streamed at once come back
 * as words of their references (not a stand-in description).
 */
import { afterAll, expect } from "bun:test";
import { freePort } from "../runtime/free-port.ts";
import { librivoxClips } from "../test/librivox.ts";
import { recognizerTest, streamClip } from "../test/recognizer.ts";
import { words } from "../test/wer.ts";

let child: ReturnType<typeof Bun.spawn> | undefined;

afterAll(async () => {
  child?.kill("SIGTERM");
  await child?.exited;
});

/** Reads the child's stdout until `line` appears; rejects after `timeoutMs` with what was printed. */
async function waitForLine(stream: ReadableStream<Uint8Array>, line: string, timeoutMs: number): Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const deadline = Date.now() + timeoutMs;
  while (!text.includes(line)) {
    const chunk = await Promise.race([reader.read(), Bun.sleep(Math.max(0, deadline - Date.now())).then(() => undefined)]);
    if (!chunk || chunk.done) throw new Error(`dev did not print "${line}"; it printed:\n${text.slice(-2000)}`);
    text += decoder.decode(chunk.value);
  }
  reader.releaseLock();
  return text;
}

recognizerTest(
  "dev without OPENAI_API_KEY: the local recognizer, said plainly, autoscale, and real words for two LibriVox clips at once",
  async () => {
    const port = await freePort();
    child = Bun.spawn([process.execPath, "app/dev.ts"], {
      cwd: `${import.meta.dir}/..`,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/tmp",
        PORT: String(port),
        CONTAINER_DRIVER: "process",
        LOG_FORMAT: "json",
        LOG_LEVEL: "warn",
      },
      stdout: "pipe",
      stderr: "inherit",
    });
    const printed = await waitForLine(
      child.stdout as ReadableStream<Uint8Array>,
      "local recognizer: pocketsphinx en-us, demo quality; set OPENAI_API_KEY for OpenAI",
      60_000,
    );
    expect(printed).not.toContain("STAND-IN");
    expect(printed).toContain("routing: autoscale");
    // Clip 3: "had he married a more a amiable woman he might have been made still more respectable ..."
    const clips = [librivoxClips()[3]!, librivoxClips()[1]!];
    const runs = await Promise.all(
      clips.map((clip, i) => streamClip(`ws://127.0.0.1:${port}/v1/listen`, clip, 10, `&sessionId=dev-demo-${i}`)),
    );
    for (const [i, run] of runs.entries()) {
      expect(run.closeCode).toBe(1000);
      const reference = new Set(words(clips[i]!.reference));
      const matching = new Set(words(run.hypothesis).filter((word) => reference.has(word)));
      // Clip 3 has 18 distinct reference words; a fresh decoder (its live cepstral mean not yet adapted) gets 9-14.
      expect(matching.size, run.hypothesis).toBeGreaterThanOrEqual(Math.min(6, Math.floor(reference.size / 3)));
      expect(run.hypothesis).not.toMatch(/ms of speech/);
    }
  },
  90_000,
);
