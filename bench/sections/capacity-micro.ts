/**
 * The transcriber's per-frame work in process, design against design: `bun bench/sections/capacity-micro.ts
 * --designs=base:<git-ref>,work [--sessions=200] [--seconds=10] [--rounds=5]`. Each design's TranscriptionSession
 * (its real Opus decoder, batching and outbox) runs `sessions` sessions through `seconds` of audio each, as fast as
 * it goes, into an upstream that encodes every event the way the production upstream puts it on the wire (the
 * design's own encoder when it has one) and drops it. Rounds alternate the designs; the figure is CPU time per
 * real-time session-second (percent of a core), which process-level runs on a loaded machine blur with the
 * stand-in's own variation (reconnects after stalls, transcripts that come back or not).
 */
import pino from "pino";
import { encodeOpusPackets, speechLikePcm48k } from "../../test/audio.ts";
import { arg, designsFromArgs } from "./capacity-compare.ts";
import { loadAverage } from "../procs.ts";

const FRAME_MS = 20;

/** Runs one design once; returns CPU ms per real-time session-second. */
async function runDesign(root: string, sessions: number, seconds: number, packets: Uint8Array[]): Promise<number> {
  const { TranscriptionSession } = await import(`${root}/transcriber/session.ts`);
  const { OpusStreamDecoder } = await import(`${root}/transcriber/opus.ts`);
  const wire = await import(`${root}/transcriber/realtime.ts`);
  const encode: (event: any) => string = wire.encodeEvent ?? ((event: any) => JSON.stringify(event));
  let bytes = 0;
  const log = pino({ level: "silent" });
  const decoders = await Promise.all(Array.from({ length: sessions }, () => OpusStreamDecoder.create()));
  const list = decoders.map(
    (opus) =>
      new TranscriptionSession({
        input: (frame: Uint8Array) => opus.decode(frame),
        connect: (handlers: any) => {
          queueMicrotask(() => handlers.onOpen());
          return {
            send: (event: any) => void (bytes += encode(event).length),
            bufferedBytes: () => 0,
            close: () => handlers.onClose("closed"),
          };
        },
        model: "m",
        realtimeSessionMaxMs: 3_600_000,
        send: () => undefined,
        close: () => undefined,
        log,
      }),
  );
  await Bun.sleep(10);
  const frames = (seconds * 1000) / FRAME_MS;
  const before = process.cpuUsage();
  for (let f = 0; f < frames; f++) for (const session of list) session.onBinary(packets[f % packets.length]!);
  const used = process.cpuUsage(before);
  for (const session of list) session.dispose();
  for (const opus of decoders) opus.free();
  if (bytes === 0) throw new Error("nothing reached the upstream");
  return (used.user + used.system) / 1000 / (sessions * seconds);
}

if (import.meta.main) {
  const designs = designsFromArgs();
  const sessions = Number(arg("sessions", "200"));
  const seconds = Number(arg("seconds", "10"));
  const rounds = Number(arg("rounds", "5"));
  const pcm = speechLikePcm48k({ pitchHz: 200, turns: [{ speechMs: 1_200, silenceMs: 800 }] });
  const packets = await encodeOpusPackets(pcm);
  const results = new Map<string, number[]>(designs.map((d) => [d.name, []]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? designs : [...designs].reverse();
    for (const design of order) results.get(design.name)!.push(await runDesign(design.root, sessions, seconds, packets));
  }
  const load = loadAverage().join(" ");
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = median(results.get(designs[0]!.name)!);
  console.log(`${sessions} sessions x ${seconds} s of audio, ${rounds} rounds; load average ${load}`);
  for (const [name, xs] of results) {
    // ms of CPU per session-second / 1000 ms * 100 % = percent of a core per real-time session.
    console.log(
      `${name}: median ${(median(xs) / 10).toFixed(4)} % of a core per session (${(median(xs) / base).toFixed(3)}x); all ${xs.map((x) => (x / 10).toFixed(4)).join(" ")}`,
    );
  }
  process.exit(0);
}
