/**
 * End to end: real transcriber containers (Opus decode, the OpenAI SDK) against the local stand-in, through
 * the gateway, with a growing number of live sessions. A step passes when no session closed early, no Error
 * arrived (the transcriber reports any audio it had to drop), transcripts came back, and the gateway hop
 * (ping -> pong answered on the gateway's event loop, in the same queue as the frames) kept p99 under 20 ms.
 */
import { encodeOpusPackets, speechLikePcm48k } from "../../test/audio.ts";
import { runLoad } from "../load/drive.ts";
import { echoSpec } from "../load/spec.ts";
import { poolIds, prewarmedPoolEnv, standinEnv, startGateway, startStandin } from "../procs.ts";
import type { Report } from "../report.ts";

const QUERY = "encoding=opus&sample_rate=48000&channels=1";

export async function endToEndSection(report: Report, options: { quick: boolean; containers: number }): Promise<void> {
  const { quick, containers } = options;
  const standin = await startStandin();
  const gateway = await startGateway(prewarmedPoolEnv(containers, standinEnv(standin)));
  try {
    await gateway.waitRunning(poolIds(containers));
    // Turns of speech and silence, so the stand-in's VAD commits and transcribes while the stream goes on.
    const pcm = speechLikePcm48k({ pitchHz: 200, turns: [{ speechMs: 1_200, silenceMs: 800 }] });
    const packetsBase64 = (await encodeOpusPackets(pcm)).map((p) => Buffer.from(p).toString("base64"));
    const steps = quick ? [10, 20] : [10, 20, 30, 40, 60, 80, 100, 130, 160];
    let best = 0;
    let last: object | undefined;
    for (const sessions of steps) {
      report.progress(`end to end: ${sessions} sessions of real-time Opus through real transcribers`);
      const urls = Array.from({ length: sessions }, (_, i) => `${gateway.listenUrl}?sessionId=e2e-${sessions}-${i}&${QUERY}`);
      const result = await runLoad(
        echoSpec(urls, {
          mode: "audio",
          packetsBase64,
          awaitText: true,
          openConcurrency: 10,
          warmupMs: quick ? 1_500 : 2_000,
          durationMs: quick ? 3_000 : 10_000,
          drainMs: 1_500,
          pingEvery: 5,
        }),
      ).result;
      const closed = Object.keys(result.closedEarly).length > 0;
      // Metadata plus, per session, at least one transcript message over the run.
      const transcripts = result.texts - result.sessions;
      const ok =
        result.ok && !closed && result.errorCount === 0 && transcripts >= sessions && result.latencyMs.n > 0 && result.latencyMs.p99 < 20;
      last = { sessions, hop_p99_ms: result.latencyMs.p99, transcripts, errors: result.errorCount, closed: result.closedEarly };
      report.progress(
        `  ${JSON.stringify(last)}${result.ok ? "" : ` ${result.error}`}${result.errors[0] ? ` first error: ${result.errors[0]}` : ""}`,
      );
      if (!ok) break;
      best = sessions;
      await Bun.sleep(1_000);
    }
    report.set("end_to_end", { max_sessions: best, containers, limit: last });
  } finally {
    await gateway.stop();
    await standin.stop();
  }
}
