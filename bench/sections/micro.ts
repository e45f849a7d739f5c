/**
 * In-process figures: routing decisions with 10,000 live sessions per mode (the strategies the gateway runs,
 * over a fake instance view), the pool's hash balance and movement, and Opus decode speed per core.
 */
import { FakeInstanceView } from "../../app/routing/fake-view.ts";
import { measure, rendezvous } from "../../app/routing/hash-compare.ts";
import { createStrategy, MemoryRoutingStore } from "../../app/routing/index.ts";
import { routingConfig } from "../../app/routing/test-config.ts";
import { encodeOpusPackets, PACKET_MS, speechLikePcm48k, WEBRTC_SPEECH } from "../../test/audio.ts";
import { clipPcm48k, librivoxClips, librivoxMissing } from "../../test/librivox.ts";
import { nativeOpusBuild, wasmOpusBuild } from "../../transcriber/opus-core.ts";
import { nativeOpusMissing } from "../../transcriber/opus-native.ts";
import { OpusStreamDecoder } from "../../transcriber/opus.ts";
import type { Report } from "../report.ts";
import { round3, summarize } from "../stats.ts";

const MODES = {
  pool: { ROUTING_MODE: "pool", CONTAINER_POOL_SIZE: "20", MAX_INSTANCES: "20" },
  session: { ROUTING_MODE: "session", MAX_INSTANCES: "10000" },
  shared: { ROUTING_MODE: "shared" },
  // 10 per container (the default) puts 10,000 sessions on 1,000 instances; 100 per container on 100.
  autoscale: { ROUTING_MODE: "autoscale", MAX_INSTANCES: "10000", MAX_CONNECTIONS_PER_CONTAINER: "10" },
  autoscale_100_per_instance: { ROUTING_MODE: "autoscale", MAX_INSTANCES: "10000", MAX_CONNECTIONS_PER_CONTAINER: "100" },
} as const;

/** route() latency with 10,000 sessions admitted, as the gateway admits them (route, opened, lease). */
export function routingSection(report: Report, liveSessions = 10_000, decisions = 20_000): void {
  for (const [mode, env] of Object.entries(MODES)) {
    const view = new FakeInstanceView();
    const strategy = createStrategy(routingConfig(env), view, new MemoryRoutingStore(), () => 1_700_000_000_000);
    for (let i = 0; i < liveSessions; i++) {
      const decision = strategy.route({ sessionId: `live-${i}` });
      if (!decision.ok) throw new Error(`${mode}: session ${i} refused (${decision.reason})`);
      strategy.opened(`live-${i}`, decision.instanceId);
      view.connect(decision.instanceId);
    }
    const samplesUs = new Float64Array(decisions);
    for (let i = 0; i < decisions; i++) {
      // One in ten is a reconnect of a live session; the rest are new ids.
      const sessionId = i % 10 === 0 ? `live-${i % liveSessions}` : `new-${i}`;
      const started = performance.now();
      strategy.route({ sessionId });
      samplesUs[i] = (performance.now() - started) * 1000;
    }
    const s = summarize(samplesUs.subarray(decisions / 10));
    report.set(`routing_decision_us.${mode}`, { p50: s.p50, p99: s.p99 });
  }
}

/** The pool's rendezvous hashing: balance of 10,000 ids on 20 members, fraction moved when 20 grow to 21. */
export function hashSection(report: Report): void {
  const ids = Array.from({ length: 10_000 }, (_, i) => `session-${i}`);
  const figures = measure(rendezvous, ids, 20);
  report.set("hash", {
    algorithm: "rendezvous",
    max_over_mean: round3(figures.maxOverMean),
    moved_fraction: Math.round(figures.movedFraction * 10_000) / 10_000,
  });
}

/** Seconds of 20 ms Opus audio decoded to 24 kHz mono per second of one core, through the transcriber's decoder. */
export async function opusSection(report: Report, quick: boolean): Promise<void> {
  const tone = await encodeOpusPackets(speechLikePcm48k({ pitchHz: 180, turns: [{ speechMs: 4_000, silenceMs: 1_000 }] }));
  const speech = librivoxMissing() ? undefined : await encodeOpusPackets(clipPcm48k(librivoxClips()[0]!, 1_000), WEBRTC_SPEECH);
  const builds = [await wasmOpusBuild(), ...(nativeOpusMissing() ? [] : [nativeOpusBuild()])];
  const rounds = quick ? 10 : 40;
  const audios = { tone, ...(speech ? { speech } : {}) };
  const result: Record<string, Record<string, number>> = {};
  for (const [audio, packets] of Object.entries(audios)) {
    const decoders = await Promise.all(builds.map((build) => OpusStreamDecoder.create(undefined, build)));
    const wallMs = builds.map(() => 0);
    try {
      for (const decoder of decoders) for (const packet of packets) decoder.decode(packet); // warm-up: JIT and wasm tiers
      // Interleaved rounds: a machine that gets busier slows every build alike.
      for (let r = 0; r < rounds; r++) {
        decoders.forEach((decoder, b) => {
          const started = performance.now();
          for (const packet of packets) decoder.decode(packet);
          wallMs[b]! += performance.now() - started;
        });
      }
    } finally {
      for (const decoder of decoders) decoder.free();
    }
    builds.forEach((build, b) => {
      result[build.kind] ??= {};
      result[build.kind]![audio] = Math.round((rounds * packets.length * PACKET_MS) / wallMs[b]!);
    });
  }
  report.set("opus_decode_x_realtime", result.wasm!.tone);
  report.set("opus_decode_x_realtime_by_build", result);
}
