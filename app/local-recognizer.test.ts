/**
 * The local recognizer end to end: the LibriVox clips of pocketsphinx-testdata, Opus-encoded by real libopus,
 * streamed twice as fast as real time through a real gateway into a transcriber with TRANSCRIBER_BACKEND=local,
 * on both drivers (a Podman container of the FROM-scratch image, and a Bun process on the host's libraries).
 * Word error rate against the reference transcripts at most 40 %, every clip's finals in order, CloseStream -> 1000.
 */
import { afterEach, beforeAll, describe, expect } from "bun:test";
import { ensureImage } from "../runtime/image-build.ts";
import { engine, engineTest } from "../test/engine.ts";
import { TestClient } from "../test/client.ts";
import { tryUpgrade } from "./faults/gateway-process.ts";
import { startTestGateway, type TestGateway } from "../test/gateway.ts";
import { pollUntil } from "../test/wait.ts";
import { librivoxClips } from "../test/librivox.ts";
import { recognizerSkipReason, recognizerTest, streamClip } from "../test/recognizer.ts";
import { wordErrorRate } from "../test/wer.ts";

const MAX_WER = 0.4;
/** A 20 ms packet every 10 ms: twice real time, which one decoder keeps up with (RTF ~0.3). */
const PACKET_INTERVAL_MS = 10;
let gateway: TestGateway | undefined;

afterEach(async () => {
  await gateway?.stop();
  gateway = undefined;
});

async function expectClipsRecognised(env: Record<string, string>): Promise<void> {
  gateway = await startTestGateway({
    ROUTING_MODE: "shared",
    TRANSCRIBER_BACKEND: "local",
    CONTAINER_NETWORK: "host",
    LOG_LEVEL: "warn",
    ...env,
  });
  const pairs: Array<{ reference: string; hypothesis: string }> = [];
  for (const [index, clip] of librivoxClips().entries()) {
    const run = await streamClip(gateway.listenUrl, clip, PACKET_INTERVAL_MS, `&sessionId=clip-${index}`);
    expect(run.closeCode, clip.id).toBe(1000);
    expect(run.finals.length, clip.id).toBeGreaterThanOrEqual(1);
    // In order on the session timeline, none overlapping the one before, all within the clip's audio.
    const clipSeconds = clip.pcm16k.length / 16_000 + 0.3;
    let previousEnd = 0;
    for (const final of run.finals) {
      expect(final.start, clip.id).toBeGreaterThanOrEqual(previousEnd - 0.001);
      previousEnd = final.start + final.duration;
      expect(previousEnd, clip.id).toBeLessThanOrEqual(clipSeconds + 0.05);
    }
    pairs.push({ reference: clip.reference, hypothesis: run.hypothesis });
  }
  const wer = wordErrorRate(pairs);
  console.log(`[local ${env.CONTAINER_DRIVER}] WER ${(wer.rate * 100).toFixed(1)} % (${wer.errors} errors / ${wer.words} words)`);
  for (const pair of pairs) console.log(`  ref: ${pair.reference}\n  hyp: ${pair.hypothesis}`);
  expect(wer.rate).toBeLessThanOrEqual(MAX_WER);
}

describe("local recognizer through the gateway", () => {
  beforeAll(async () => {
    if (engine && !recognizerSkipReason) await ensureImage({ log: (line: string) => console.log(`[image] ${line}`) });
  }, 300_000);

  recognizerTest(
    "process driver: LibriVox clips as Opus, WER <= 40 %, finals in order, CloseStream -> 1000",
    async () => {
      await expectClipsRecognised({ CONTAINER_DRIVER: "process" });
    },
    120_000,
  );

  recognizerTest(
    "past LOCAL_MAX_SESSIONS: 503 before the upgrade once the load report says so, Error at_capacity and 1013 before it does; the first goes on",
    async () => {
      gateway = await startTestGateway({
        ROUTING_MODE: "shared",
        TRANSCRIBER_BACKEND: "local",
        CONTAINER_DRIVER: "process",
        LOCAL_MAX_SESSIONS: "1",
        LOG_LEVEL: "warn",
      });
      const first = TestClient.connect(`${gateway.listenUrl}?encoding=opus&sample_rate=48000&channels=1`);
      await first.next("Metadata", 30_000);
      // The transcriber holds the first session's decoder (its /health counts them) before the second arrives.
      const stats = await gateway.stats();
      const endpoint = stats.instances.find((i: { id: string }) => i.id === "shared").endpoint;
      await pollUntil(
        async () => (await (await fetch(`http://${endpoint}/health`)).json()).recognizers?.inUse === 1,
        "the first decoder in use",
        10_000,
        20,
      );
      // Before the gateway's next read of the transcriber's load, the session is upgraded and the container says no.
      if (gateway.gateway.state.loads.refusal("shared") === undefined) {
        const second = TestClient.connect(`${gateway.listenUrl}?encoding=opus&sample_rate=48000&channels=1`);
        const closed = await second.closed;
        if (second.ofType("Metadata").length > 0) {
          expect(closed.code).toBe(1013);
          expect(second.ofType("Error")).toEqual([expect.objectContaining({ code: "at_capacity" })]);
        }
      }
      // Once it read the report (no free recognizer), the next one is refused before the upgrade.
      const loads = gateway.gateway.state.loads;
      await pollUntil(() => loads.refusal("shared") !== undefined, "the gateway to read the full report", 5_000, 50);
      const refused = await tryUpgrade(gateway.listenUrl, "encoding=opus&sample_rate=48000&channels=1");
      expect(refused.status).toBe(503);
      expect(refused.body).toContain("every recognizer is in use (LOCAL_MAX_SESSIONS=1)");
      expect(Number(refused.retryAfter)).toBeGreaterThan(0);
      first.send({ type: "CloseStream" });
      expect((await first.closed).code).toBe(1000);
    },
    60_000,
  );

  engineTest(
    "podman driver (FROM-scratch image with the recognizer): LibriVox clips as Opus, WER <= 40 %, finals in order, CloseStream -> 1000",
    async () => {
      if (recognizerSkipReason) throw new Error(`the image needs the recognizer on the build host: ${recognizerSkipReason}`);
      await expectClipsRecognised({ CONTAINER_DRIVER: "podman" });
    },
    180_000,
  );
});
