/**
 * `/v1/mux` on a real transcriber, driven by the gateway's real MuxLinks: sessions on one link stay apart,
 * each ends on its own, bad input ends only what it must, and a drain delivers every session's close.
 */
import { afterAll, describe, expect, test } from "bun:test";
import pino from "pino";
import { MuxLinks, type Upstream } from "../app/session/mux-link.ts";
import { encodeOpusPackets } from "../test/audio.ts";
import { speechLikePcm48k } from "../test/audio.ts";
import { pollUntil } from "../test/wait.ts";
import { answerCommits, FakeUpstreams } from "./fake-upstream.ts";
import { startTranscriber, type RunningTranscriber } from "./server.ts";

const logger = pino({ level: "silent" });
const started: RunningTranscriber[] = [];
const linkSets: MuxLinks[] = [];

async function start(env: Record<string, string>, upstreams = new FakeUpstreams()) {
  const transcriber = await startTranscriber({
    port: 0,
    host: "127.0.0.1",
    env: { OPENAI_API_KEY: "k", ...env },
    upstream: upstreams.factory,
    logger,
    closeWaitMs: 500,
  });
  started.push(transcriber);
  const links = new MuxLinks(2000);
  linkSets.push(links);
  const url = `ws://127.0.0.1:${transcriber.port}/v1/mux`;
  return { transcriber, upstreams, links, url, http: `http://127.0.0.1:${transcriber.port}` };
}

/** A channel with what it received and how it ended. */
async function channel(links: MuxLinks, url: string, query: string) {
  const got: Array<string | Uint8Array> = [];
  let closed: { code: number; reason: string } | undefined;
  const upstream: Upstream = await links.attach(
    "t",
    url,
    query,
  )({
    message: (data) => got.push(typeof data === "string" ? data : data.slice()),
    closed: (code, reason) => (closed = { code, reason }),
    shed: () => upstream.close(1013, "shed"), // these links never back up
  });
  return { upstream, got, closed: () => closed };
}

afterAll(async () => {
  for (const links of linkSets) links.closeAll();
  await Promise.all(started.map((t) => t.stop()));
});

describe("transcriber /v1/mux", () => {
  test("echo: sessions on one link get back only their own frames; CloseStream ends only its own session", async () => {
    const { links, url, http } = await start({ TRANSCRIBER_BACKEND: "echo" });
    const a = await channel(links, url, "encoding=opus&session_id=a");
    const b = await channel(links, url, "encoding=opus&session_id=b");
    expect(links.size).toBe(1);
    const framesA = Array.from({ length: 40 }, (_, i) => new Uint8Array(1 + i).fill(0xa0 + (i % 16)));
    const framesB = Array.from({ length: 40 }, (_, i) => new Uint8Array(200 + i).fill(0x0b));
    for (let i = 0; i < 40; i++) {
      a.upstream.send(framesA[i]!);
      b.upstream.send(framesB[i]!);
    }
    await pollUntil(() => a.got.length === 40 && b.got.length === 40, "80 echoed frames");
    expect(a.got).toEqual(framesA);
    expect(b.got).toEqual(framesB);
    expect(await (await fetch(`${http}/health`)).json()).toMatchObject({ sessions: 2 });
    a.upstream.send('{"type":"CloseStream"}');
    await pollUntil(() => a.closed() !== undefined, "a's close");
    expect(a.closed()).toEqual({ code: 1000, reason: "stream closed" });
    expect(b.closed()).toBeUndefined();
    b.upstream.send(new Uint8Array([7]));
    await pollUntil(() => b.got.length === 41, "b still served");
    expect(await (await fetch(`${http}/health`)).json()).toMatchObject({ sessions: 1 });
    // A frame over 64 KiB ends only its own session, with 1009, as on a socket of its own.
    b.upstream.send(new Uint8Array(65 * 1024));
    await pollUntil(() => b.closed() !== undefined, "b's 1009");
    expect(b.closed()!.code).toBe(1009);
    const c = await channel(links, url, "encoding=opus&session_id=c");
    c.upstream.send(new Uint8Array([3]));
    await pollUntil(() => c.got.length === 1, "the link still serving");
  });

  test("a burst of many megabytes in one turn crosses both ways intact (batches reuse one buffer)", async () => {
    const { links, url } = await start({ TRANSCRIBER_BACKEND: "echo" });
    const a = await channel(links, url, "encoding=opus&session_id=burst-a");
    const b = await channel(links, url, "encoding=opus&session_id=burst-b");
    const frame = (i: number) => {
      const bytes = new Uint8Array(30_000).fill(i % 251);
      new DataView(bytes.buffer).setUint32(0, i);
      return bytes;
    };
    const sent = Array.from({ length: 300 }, (_, i) => frame(i));
    for (let i = 0; i < sent.length; i++) (i % 2 ? b : a).upstream.send(sent[i]!); // ~9 MB in one turn
    await pollUntil(() => a.got.length + b.got.length === sent.length, "300 echoed frames", 15_000);
    expect(a.got).toEqual(sent.filter((_, i) => i % 2 === 0));
    expect(b.got).toEqual(sent.filter((_, i) => i % 2 === 1));
  });

  test("opus: each channel decodes its own stream to 24 kHz and its finals come back on it", async () => {
    const upstreams = new FakeUpstreams();
    upstreams.onConnection = answerCommits;
    const { links, url } = await start({}, upstreams);
    const packets = await encodeOpusPackets(speechLikePcm48k({ pitchHz: 200, turns: [{ speechMs: 400, silenceMs: 100 }] }));
    const a = await channel(links, url, "encoding=opus&session_id=a");
    const b = await channel(links, url, "encoding=opus&session_id=b");
    for (const packet of packets) a.upstream.send(packet); // sent before either decoder exists: they wait for it
    for (const packet of packets.slice(0, packets.length / 2)) b.upstream.send(packet);
    await pollUntil(() => upstreams.connections.length === 2 && upstreams.connections[0]!.audioMs() >= 460, "a's audio upstream");
    await pollUntil(() => upstreams.connections[1]!.audioMs() >= 200, "b's audio upstream");
    await Bun.sleep(50);
    const [first, second] = upstreams.connections;
    // 500 ms of audio for a, half of it for b (less the resampler's few ms): nothing crossed between them.
    expect(first!.audioMs()).toBeWithin(460, 501);
    expect(second!.audioMs()).toBeWithin(200, 261);
    a.upstream.send('{"type":"CloseStream"}');
    await pollUntil(() => a.closed() !== undefined, "a's close");
    expect(a.closed()!.code).toBe(1000);
    const finals = a.got
      .filter((m): m is string => typeof m === "string")
      .map((m) => JSON.parse(m))
      .filter((m) => m.type === "Results" && m.is_final);
    expect(finals.length).toBeGreaterThanOrEqual(1);
    expect(b.got.some((m) => typeof m === "string" && m.includes('"is_final":true'))).toBe(false);
  });

  test("bad parameters close that channel 1008 with the reason; a malformed batch closes the link (1002)", async () => {
    const { links, url } = await start({ TRANSCRIBER_BACKEND: "echo" });
    const good = await channel(links, url, "encoding=opus&session_id=good");
    const bad = await channel(links, url, "encoding=mp3&session_id=bad");
    await pollUntil(() => bad.closed() !== undefined, "the bad channel's close");
    expect(bad.closed()!.code).toBe(1008);
    expect(bad.closed()!.reason).toContain("encoding");
    good.upstream.send(new Uint8Array([1]));
    await pollUntil(() => good.got.length === 1, "the good channel still served");
    // A raw client sends a batch that claims more bytes than it has.
    const raw = new WebSocket(url);
    const closed = new Promise<number>((resolve) => (raw.onclose = (e) => resolve(e.code)));
    await new Promise((resolve) => (raw.onopen = resolve));
    raw.send(new Uint8Array([2, 0, 0, 0, 1, 0, 0, 0, 50, 1]));
    expect(await closed).toBe(1002);
    good.upstream.send(new Uint8Array([2]));
    await pollUntil(() => good.got.length === 2, "the other link unaffected");
  });

  test("stop() ends every session on every link with Error container_stopped and 1012 before the link goes, and refuses channels opened meanwhile", async () => {
    const { transcriber, links, url } = await start({});
    const a = await channel(links, url, "encoding=opus&session_id=a");
    const b = await channel(links, url, "encoding=linear16&sample_rate=16000&session_id=b");
    b.upstream.send(new Uint8Array(9600)); // 300 ms the fake never transcribes: the drain waits out closeWaitMs
    await Bun.sleep(50);
    const stopping = transcriber.stop();
    const late = await channel(links, url, "encoding=linear16&sample_rate=16000&session_id=late");
    await stopping;
    await pollUntil(() => a.closed() !== undefined && b.closed() !== undefined && late.closed() !== undefined, "three closes");
    for (const session of [a, b, late]) {
      expect(session.closed()).toEqual({ code: 1012, reason: "server shutting down" });
      const errors = session.got
        .filter((m): m is string => typeof m === "string")
        .map((m) => JSON.parse(m))
        .filter((m) => m.type === "Error");
      expect(errors.map((m) => m.code)).toEqual(["container_stopped"]);
    }
  });
});
