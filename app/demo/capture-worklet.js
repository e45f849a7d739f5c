// AudioWorklet processor for the demo page: collects the microphone's first channel into 20 ms frames
// (960 samples at the 48 kHz the page's AudioContext runs at) and posts each frame to the page, which
// encodes it to one Opus packet. Batching here keeps the page at 50 messages a second instead of 375.
const FRAME = 960;

class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.frame = new Float32Array(FRAME);
    this.filled = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    let at = 0;
    while (at < channel.length) {
      const take = Math.min(FRAME - this.filled, channel.length - at);
      this.frame.set(channel.subarray(at, at + take), this.filled);
      this.filled += take;
      at += take;
      if (this.filled === FRAME) {
        this.port.postMessage(this.frame, [this.frame.buffer]);
        this.frame = new Float32Array(FRAME);
        this.filled = 0;
      }
    }
    return true;
  }
}

registerProcessor("capture", CaptureProcessor);
