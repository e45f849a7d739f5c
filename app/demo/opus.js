// Opus encoders for the demo page: 20 ms frames of 48 kHz mono float PCM in, one raw Opus packet per frame
// out (what /v1/listen takes with encoding=opus). WebCodecs' AudioEncoder is the first choice: native, no
// download, and Chromium's (Debian's included, headless too) supports codec 'opus' with format 'opus' (raw
// packets, not Ogg pages) and a 20 ms frameDuration. Where it is missing (older Firefox and Safari) the page
// loads libopus-wasm, served by the gateway as an ES module with its WASM inlined.

export const SAMPLE_RATE = 48000;
export const FRAME_SAMPLES = 960;

const WEBCODECS_CONFIG = {
  codec: "opus",
  sampleRate: SAMPLE_RATE,
  numberOfChannels: 1,
  bitrate: 32000,
  opus: { format: "opus", frameDuration: 20000 },
};

/** True when this browser's WebCodecs encodes raw 20 ms Opus packets. */
export async function webCodecsSupported() {
  if (typeof AudioEncoder === "undefined" || typeof AudioData === "undefined") return false;
  try {
    return (await AudioEncoder.isConfigSupported(WEBCODECS_CONFIG)).supported === true;
  } catch {
    return false;
  }
}

async function webCodecsEncoder(onPacket, onError) {
  const encoder = new AudioEncoder({
    output(chunk) {
      const packet = new Uint8Array(chunk.byteLength);
      chunk.copyTo(packet);
      onPacket(packet);
    },
    error: (e) => onError(e),
  });
  encoder.configure(WEBCODECS_CONFIG);
  let timestampUs = 0;
  return {
    kind: "webcodecs",
    label: "WebCodecs AudioEncoder (opus, 20 ms)",
    encode(frame) {
      const data = new AudioData({
        format: "f32",
        sampleRate: SAMPLE_RATE,
        numberOfFrames: frame.length,
        numberOfChannels: 1,
        timestamp: timestampUs,
        data: frame,
      });
      timestampUs += (frame.length * 1e6) / SAMPLE_RATE;
      encoder.encode(data);
      data.close();
    },
    flush: () => encoder.flush(),
    close: () => encoder.state !== "closed" && encoder.close(),
  };
}

async function wasmEncoder(onPacket) {
  const { createEncoder } = await import("/demo/libopus/index.js");
  const encoder = await createEncoder({ sampleRate: SAMPLE_RATE, channels: 1, bitrate: 32000 });
  return {
    kind: "libopus-wasm",
    label: "libopus-wasm (in the page, 20 ms)",
    // The encoder reuses its output buffer: copy before handing the packet on.
    encode: (frame) => onPacket(new Uint8Array(encoder.encodeFloat(frame))),
    flush: async () => {},
    close: () => encoder.free(),
  };
}

/**
 * Creates an encoder: `prefer` is "auto" (WebCodecs when supported, else libopus-wasm), "webcodecs" or
 * "wasm". Resolves with `{ kind, label, encode(Float32Array(960)), flush(), close() }`.
 */
export async function createOpusEncoder(prefer, onPacket, onError) {
  if (prefer === "wasm") return wasmEncoder(onPacket);
  if (await webCodecsSupported()) return webCodecsEncoder(onPacket, onError);
  if (prefer === "webcodecs") throw new Error("this browser's WebCodecs cannot encode Opus");
  return wasmEncoder(onPacket);
}
