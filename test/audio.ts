/**
 * Test audio: speech-like tone bursts (a pitch with a syllable-rate envelope) separated by silence, and
 * their 20 ms Opus packets as a meeting client would send them. Shared by transcriber and gateway tests.
 */
import { Application, createEncoder, type EncoderOptions } from "libopus-wasm";

/** Samples per second of the generated PCM: the Opus stream rate clients send. */
export const SAMPLE_RATE_48K = 48_000;
/** One Opus packet carries 20 ms. */
export const PACKET_MS = 20;
const SAMPLES_PER_PACKET = (SAMPLE_RATE_48K * PACKET_MS) / 1000;

/** One speaking turn: a tone burst followed by silence. */
export interface Turn {
  speechMs: number;
  silenceMs: number;
}

/** What to generate: the tone pitch and the turns in order. */
export interface SpeechLikeOptions {
  pitchHz: number;
  turns: Turn[];
  /** Peak amplitude (int16 units); default 12000, well above an energy VAD threshold. */
  amplitude?: number;
}

/**
 * Mono 48 kHz int16 PCM: for each turn, `speechMs` of a tone at `pitchHz` whose loudness wobbles at about
 * 4 Hz (syllables) but never drops near silence, then `silenceMs` of digital silence.
 */
export function speechLikePcm48k(options: SpeechLikeOptions): Int16Array {
  const amplitude = options.amplitude ?? 12_000;
  const totalMs = options.turns.reduce((sum, t) => sum + t.speechMs + t.silenceMs, 0);
  const pcm = new Int16Array(Math.round((totalMs * SAMPLE_RATE_48K) / 1000));
  let at = 0;
  for (const turn of options.turns) {
    const speechSamples = Math.round((turn.speechMs * SAMPLE_RATE_48K) / 1000);
    for (let i = 0; i < speechSamples && at + i < pcm.length; i++) {
      const t = i / SAMPLE_RATE_48K;
      const envelope = 0.65 + 0.35 * Math.sin(2 * Math.PI * 4 * t);
      // A short fade in and out keeps the bursts click-free, as real speech onsets are.
      const fade = Math.min(1, i / 240, (speechSamples - i) / 240);
      pcm[at + i] = Math.round(amplitude * envelope * fade * Math.sin(2 * Math.PI * options.pitchHz * t));
    }
    at += speechSamples + Math.round((turn.silenceMs * SAMPLE_RATE_48K) / 1000);
  }
  return pcm;
}

/** How a WebRTC client encodes speech: libopus's VOIP application (SILK for speech) at 32 kbps. */
export const WEBRTC_SPEECH: EncoderOptions = { application: Application.Voip, bitrate: 32_000 };

/**
 * Encodes 48 kHz mono PCM into 20 ms Opus packets (the last one zero-padded), with libopus's defaults unless
 * `options` says otherwise (`WEBRTC_SPEECH`).
 */
export async function encodeOpusPackets(pcm48k: Int16Array, options: EncoderOptions = {}): Promise<Uint8Array[]> {
  const encoder = await createEncoder({ sampleRate: SAMPLE_RATE_48K, channels: 1, ...options });
  try {
    const packets: Uint8Array[] = [];
    for (let at = 0; at < pcm48k.length; at += SAMPLES_PER_PACKET) {
      const frame = new Int16Array(SAMPLES_PER_PACKET);
      frame.set(pcm48k.subarray(at, Math.min(at + SAMPLES_PER_PACKET, pcm48k.length)));
      // Copy: the encoder may reuse its output buffer.
      packets.push(new Uint8Array(encoder.encode(frame)));
    }
    return packets;
  } finally {
    encoder.free();
  }
}

/** Duration in milliseconds of a packet list produced by {@link encodeOpusPackets}. */
export function packetsDurationMs(packets: readonly Uint8Array[]): number {
  return packets.length * PACKET_MS;
}
