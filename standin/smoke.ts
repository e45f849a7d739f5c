/**
 * Smoke client: `OPENAI_BASE_URL=<baseUrl> NODE_EXTRA_CA_CERTS=<caFile> bun standin/smoke.ts`.
 * Streams two voiced bursts (1000 ms at 220 Hz, 600 ms at 330 Hz) through the real `openai` SDK and
 * prints the completed transcripts as one JSON line. It passes no `ca` option on purpose: it shows that
 * trusting the stand-in through NODE_EXTRA_CA_CERTS alone works, which is how a transcriber process is
 * expected to do it. Exits 1 on any error or after 10 s.
 */
import { pcmChunks, sequence } from "./synth.ts";
import { connect } from "./testing.ts";

const baseUrl = process.env.OPENAI_BASE_URL;
if (!baseUrl) {
  console.error("OPENAI_BASE_URL must point at the stand-in, e.g. https://127.0.0.1:PORT/v1");
  process.exit(2);
}
const c = connect(baseUrl, undefined, process.env.OPENAI_API_KEY ?? "test");
try {
  // A TLS or HTTP failure arrives as an SDK error, never as an event: fail on it at once.
  await Promise.race([c.waitFor("session.created"), c.nextError().then((e) => Promise.reject(e))]);
  c.appendAll(pcmChunks(sequence([{ ms: 200 }, { ms: 1000, hz: 220 }, { ms: 700 }, { ms: 600, hz: 330 }, { ms: 700 }])));
  const done = await c.waitForCount("conversation.item.input_audio_transcription.completed", 2, 10_000);
  console.log(JSON.stringify({ transcripts: done.map((d) => d.transcript) }));
  c.rt.close();
  // The losing side of the race above still holds a timer; this script is done.
  process.exit(0);
} catch (error) {
  const cause = (error as { cause?: unknown }).cause;
  console.error(String(cause ?? error));
  process.exit(1);
}
