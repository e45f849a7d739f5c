/**
 * Tests of the local recognizer: gating (pocketsphinx and its LibriVox test clips are installed from Debian
 * packages first when this is root with apt-get, as the browser tests install Chromium; otherwise the tests
 * skip with a printed reason, unless REQUIRE_ENGINE=1, which makes that a failure as for the engine), and one
 * LibriVox clip streamed through a `/v1/listen` URL with its finals collected.
 */
import { test } from "bun:test";
import { ensureRecognizer } from "../scripts/recognizer-setup.ts";
import { TestClient } from "./client.ts";
import { clipOpusPackets, type LibrivoxClip, librivoxMissing } from "./librivox.ts";

/** Why local-recognizer tests cannot run here, or undefined (checked, and installed if it can be, once per run). */
export const recognizerSkipReason: string | undefined = (await ensureRecognizer()) ?? librivoxMissing();

/** `test` when the recognizer and clips are installed; otherwise a printed skip, or a failure under REQUIRE_ENGINE=1. */
export function recognizerTest(name: string, fn: () => Promise<void>, timeoutMs?: number): void {
  if (!recognizerSkipReason) return void test(name, fn, timeoutMs);
  if (process.env.REQUIRE_ENGINE === "1") {
    test(name, () => {
      throw new Error(`REQUIRE_ENGINE=1 but ${recognizerSkipReason}`);
    });
  } else {
    console.warn(`[skip] ${name}: ${recognizerSkipReason}`);
    test.skip(name, fn);
  }
}

/** One final Results as the client saw it. */
export interface FinalResult {
  transcript: string;
  start: number;
  duration: number;
}

/** What one clip's session produced. */
export interface ClipRun {
  finals: FinalResult[];
  interims: number;
  closeCode: number;
  /** The finals joined: the session's transcript. */
  hypothesis: string;
}

/**
 * Streams `clip` (plus 300 ms of silence) as Opus to `listenUrl` with `query`, one 20 ms packet every
 * `packetIntervalMs` (20: real time; 10: twice as fast), then CloseStream; resolves once the socket closed.
 */
export async function streamClip(listenUrl: string, clip: LibrivoxClip, packetIntervalMs: number, query = ""): Promise<ClipRun> {
  const client = TestClient.connect(`${listenUrl}?encoding=opus&sample_rate=48000&channels=1&language=en${query}`);
  await client.stream(await clipOpusPackets(clip, 300), packetIntervalMs);
  client.send({ type: "CloseStream" });
  const { code } = await client.closed;
  const results = client.ofType("Results");
  const finals = results
    .filter((m) => m.is_final)
    .map((m) => ({
      transcript: String(m.channel.alternatives[0].transcript),
      start: Number(m.start),
      duration: Number(m.duration),
    }));
  return { finals, interims: results.length - finals.length, closeCode: code, hypothesis: finals.map((f) => f.transcript).join(" ") };
}
