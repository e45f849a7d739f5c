import { describe, expect, test } from "bun:test";
import { encodeOpusPackets, speechLikePcm48k } from "../../test/audio.ts";
import { oggOpusFile } from "../../test/ogg.ts";
import { wavBytes } from "../../test/wav.ts";
import { AudioFileError, audioFrames } from "./audio-file.ts";

const bytes = (text: string) => new Uint8Array(Buffer.from(text, "latin1")) as Uint8Array<ArrayBuffer>;

describe("audioFrames", () => {
  test("a WAV file becomes linear16 blocks at its own rate and channels, whatever the query says", async () => {
    const stereo = new Int16Array(16_000 * 2).map((_, i) => i % 100); // one second, two channels, 16 kHz
    const audio = await audioFrames(wavBytes(stereo, 16_000, 2) as Uint8Array<ArrayBuffer>, { encoding: "opus", sampleRateHz: 48_000 });
    expect(audio).toMatchObject({ encoding: "linear16", sampleRateHz: 16_000, channels: 2, durationS: 1 });
    expect(audio.frames.reduce((sum, f) => sum + f.byteLength, 0)).toBe(stereo.byteLength);
    expect(Math.max(...audio.frames.map((f) => f.byteLength))).toBeLessThanOrEqual(64 * 1024);
    expect(Buffer.concat(audio.frames)).toEqual(Buffer.from(stereo.buffer));
  });

  test("an Ogg Opus file becomes its packets, in order", async () => {
    const packets = await encodeOpusPackets(speechLikePcm48k({ pitchHz: 200, turns: [{ speechMs: 500, silenceMs: 100 }] }));
    const audio = await audioFrames(oggOpusFile(packets, 7) as Uint8Array<ArrayBuffer>, {});
    expect(audio).toMatchObject({ encoding: "opus", sampleRateHz: 48_000, channels: 1, durationS: 0.6 });
    expect(audio.frames).toEqual(packets);
  });

  test("raw audio needs encoding=linear16; its rate and channels come from the query", async () => {
    const raw = new Uint8Array(32_000);
    expect(await audioFrames(raw, { encoding: "linear16", sampleRateHz: 8000, channels: 2 })).toMatchObject({
      durationS: 1,
      channels: 2,
      sampleRateHz: 8000,
    });
    await expect(audioFrames(raw, {})).rejects.toThrow(/^unrecognised audio: expected a WAV/);
  });

  test("refusals are typed and say what is wrong", async () => {
    await expect(audioFrames(new Uint8Array(0), {})).rejects.toBeInstanceOf(AudioFileError);
    await expect(audioFrames(bytes("RIFF\x10\x00\x00\x00WAVEfmt "), {})).rejects.toThrow(/^cannot read the audio file: truncated/);
    await expect(audioFrames(bytes("OggS\x00\x02garbage"), {})).rejects.toThrow(/^cannot read the audio file: /);
  });
});
