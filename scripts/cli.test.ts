/**
 * The CLI as a user runs it (`bun scripts/cli.ts`), against a real gateway whose instances are local Bun
 * processes talking to the stand-in, whose transcripts state the duration and pitch of what they heard.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeOpusPackets, speechLikePcm48k, type Turn } from "../test/audio.ts";
import { startTestGateway, type TestGateway } from "../test/gateway.ts";
import { oggOpusFile } from "../test/ogg.ts";
import { resampleForTest, wavBytes } from "../test/wav.ts";

const CLI = join(import.meta.dir, "cli.ts");
const dir = mkdtempSync(join(tmpdir(), "te-cli-"));
let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startTestGateway(
    {
      ROUTING_MODE: "shared",
      CONTAINER_DRIVER: "process",
      CONTAINER_NETWORK: "host",
    },
    { standin: true },
  );
});

afterAll(async () => {
  await gateway?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string; elapsedMs: number }> {
  return cliWithStdin("ignore", ...args);
}

async function cliWithStdin(stdin: "ignore" | ReturnType<typeof Bun.file>, ...args: string[]) {
  const startedAt = performance.now();
  const proc = Bun.spawn([process.execPath, CLI, ...args], { stdout: "pipe", stderr: "pipe", stdin });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr, elapsedMs: performance.now() - startedAt };
}

function file(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/**
 * Parses stand-in transcripts, "<ms> ms of speech at <hz> hz" per line. CloseStream makes the stand-in
 * transcribe the trailing pause too ("700 ms of silence"): those lines are left out.
 */
function heard(stdout: string): Array<{ ms: number; hz: number }> {
  const lines = stdout
    .trim()
    .split("\n")
    .filter((line) => !/^\d+ ms of silence$/.test(line));
  return lines.map((line) => {
    const m = /^(\d+) ms of speech at (\d+) hz$/.exec(line);
    if (!m) throw new Error(`unexpected transcript line: ${line}`);
    return { ms: Number(m[1]), hz: Number(m[2]) };
  });
}

const turns = (n: number, speechMs: number): Turn[] => Array.from({ length: n }, () => ({ speechMs, silenceMs: 700 }));

describe("npm run cli", () => {
  test("streams a 16 kHz stereo WAV (resampled and downmixed) and prints one final transcript per turn, exit 0", async () => {
    const mono16k = resampleForTest(speechLikePcm48k({ pitchHz: 220, turns: turns(3, 900) }), 48_000, 16_000);
    const stereo = new Int16Array(mono16k.length * 2);
    mono16k.forEach((s, i) => stereo.set([s, s], i * 2));
    const wav = file("speech.wav", wavBytes(stereo, 16_000, 2));

    // At max speed CloseStream reaches the transcriber before the VAD's events: every turn must still come back.
    const run = await cli(wav, "--url", gateway.listenUrl, "--session-id", "cli-wav", "--speed", "max");
    expect(run.stderr).toContain("WAV 16000 Hz stereo");
    expect(run.stderr).toContain("session cli-wav · container shared (routing shared) · start cold");
    // One session line: the closing Metadata (Deepgram's shape, no routing facts) prints none.
    expect(run.stderr.match(/^session /gm)).toHaveLength(1);
    expect(run.stderr).not.toContain("undefined");
    expect(run.stderr).toMatch(/done: \d+ final transcripts, 4\.8 s of audio/);
    expect(run.code).toBe(0);
    const transcripts = heard(run.stdout);
    expect(transcripts, run.stdout).toHaveLength(3);
    for (const { ms, hz } of transcripts) {
      expect(Math.abs(hz - 220)).toBeLessThanOrEqual(20);
      expect(Math.abs(ms - 900)).toBeLessThanOrEqual(200);
    }
  }, 60_000);

  test("streams the packets of an Ogg Opus file at the requested speed", async () => {
    const packets = await encodeOpusPackets(speechLikePcm48k({ pitchHz: 300, turns: turns(2, 800) }));
    const ogg = file("speech.opus", oggOpusFile(packets, 17));

    const run = await cli(ogg, "--url", gateway.listenUrl, "--session-id", "cli-ogg", "--speed", "2");
    expect(run.stderr).toContain("Ogg Opus");
    expect(run.stderr).toContain("start warm");
    expect(run.code).toBe(0);
    expect(heard(run.stdout).map((t) => Math.abs(t.hz - 300) <= 20)).toEqual([true, true]);
    // 3 s of audio at twice real time: about 1.5 s of streaming, not the instant of --speed max.
    expect(run.elapsedMs).toBeGreaterThan(1400);
  }, 60_000);

  test("reads a WAV stream from stdin with -", async () => {
    const wav = file("stdin.wav", wavBytes(speechLikePcm48k({ pitchHz: 260, turns: turns(2, 700) }), 48_000));
    const run = await cliWithStdin(Bun.file(wav), "-", "--url", gateway.listenUrl, "--session-id", "cli-stdin", "--speed", "4");
    expect(run.stderr).toContain("streaming stdin (WAV 48000 Hz mono)");
    expect(run.code).toBe(0);
    expect(heard(run.stdout).map((t) => Math.abs(t.hz - 260) <= 20)).toEqual([true, true]);
  }, 60_000);

  test("a file that is neither WAV nor Ogg Opus fails with one line naming it, exit 1, and opens no session", async () => {
    const before = (await gateway.stats()).totals.sessions;
    const bad = file("notes.txt", new TextEncoder().encode("these are not audio samples\n"));
    const run = await cli(bad, "--url", gateway.listenUrl);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe(`cli: ${bad}: not a WAV (RIFF) or Ogg Opus (OggS) stream`);
    expect(run.stdout).toBe("");
    expect((await gateway.stats()).totals.sessions).toBe(before);
  }, 20_000);

  test("an 8-bit WAV and a missing file are refused by name, exit 1", async () => {
    const eightBit = wavBytes(new Int16Array(100), 8000);
    new DataView(eightBit.buffer).setUint16(34, 8, true);
    const path = file("eight-bit.wav", eightBit);
    const run = await cli(path, "--url", gateway.listenUrl);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`cli: ${path}: unsupported WAV encoding (format 1, 8-bit): expected 16-bit PCM`);
    const missing = await cli(join(dir, "nope.wav"), "--url", gateway.listenUrl);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe(`cli: ${join(dir, "nope.wav")}: no such file`);
  }, 20_000);

  test("a refused session (bad sessionId) exits 1 with the reason", async () => {
    const wav = file("short.wav", wavBytes(speechLikePcm48k({ pitchHz: 200, turns: turns(1, 300) }), 48_000));
    const run = await cli(wav, "--url", gateway.listenUrl, "--session-id", "not allowed!");
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`cli: failed: could not connect to ${gateway.listenUrl}`);
  }, 20_000);
});
