/**
 * End-to-end scenarios through a real gateway, a real transcriber (process or container) and the real
 * stand-in, registered once per driver so both drivers pass the same assertions.
 */
import { afterAll, expect } from "bun:test";
import type { Standin } from "../standin/server.ts";
import { encodeOpusPackets, packetsDurationMs, speechLikePcm48k } from "./audio.ts";
import { TestClient } from "./client.ts";
import { startTestGateway, type TestGateway } from "./gateway.ts";

export interface ScenarioContext {
  gateway: TestGateway;
  standin: Standin;
}

/** What differs per driver: how a test kills or stops an instance's container and counts what is left of them. */
export interface DriverHooks {
  killInstance(ctx: ScenarioContext, instanceId: string): Promise<void>;
  /** Stops it gracefully from outside (SIGTERM: `podman stop`), as an upgrade or an eviction would. */
  stopInstance(ctx: ScenarioContext, instanceId: string): Promise<void>;
  leftovers(ctx: ScenarioContext): Promise<number>;
}

type Register = (name: string, fn: () => Promise<void>, timeoutMs?: number) => void;

/** Interim results and SpeechStarted are off unless asked for (Deepgram's defaults): these scenarios check them. */
const QUERY = "encoding=opus&sample_rate=48000&channels=1&language=en&interim_results=true&vad_events=true&utterance_end_ms=1000";

/** Speech-like Opus packets: `turns` bursts of `speechMs` at `pitchHz`, each followed by 700 ms of silence. */
export async function speechPackets(pitchHz: number, turns = 3, speechMs = 900): Promise<Uint8Array[]> {
  return encodeOpusPackets(speechLikePcm48k({ pitchHz, turns: Array.from({ length: turns }, () => ({ speechMs, silenceMs: 700 })) }));
}

/** The stand-in's transcripts look like `<ms> ms of speech at <hz> hz`. */
export function pitchesIn(transcripts: string[]): number[] {
  return transcripts.map((t) => Number(/at (\d+) hz/.exec(t)?.[1] ?? NaN));
}

export function finals(client: TestClient): string[] {
  return client
    .ofType("Results")
    .filter((m) => m.is_final)
    .map((m) => m.channel.alternatives[0].transcript as string);
}

/**
 * Registers the end-to-end scenarios for one driver. `register` is `test` or an engine-gated variant;
 * `extraEnv` picks the driver.
 */
export function endToEndScenarios(register: Register, extraEnv: Record<string, string>, hooks: DriverHooks) {
  const ctx = {} as ScenarioContext;
  let ready: Promise<void> | undefined;
  const setUp = () =>
    (ready ??= (async () => {
      ctx.gateway = await startTestGateway({ ROUTING_MODE: "shared", CONTAINER_NETWORK: "host", ...extraEnv }, { standin: true });
      ctx.standin = ctx.gateway.standin!;
    })());
  afterAll(async () => {
    await ctx.gateway?.stop();
  });

  register(
    "streams speech through the gateway and gets Metadata, interim and final Results, then CloseStream closes 1000",
    async () => {
      await setUp();
      const packets = await speechPackets(220);
      const client = TestClient.connect(`${ctx.gateway.listenUrl}?sessionId=e2e-speech&${QUERY}`);
      const metadata = await client.next("Metadata", 15_000);
      expect(metadata).toMatchObject({ session_id: "e2e-speech", container: "shared", routing: "shared", start: "cold" });
      expect(metadata.wait_ms).toBeGreaterThan(0);
      const sentAtStart = ctx.standin.sessions().length;
      await client.stream(packets);
      client.send({ type: "CloseStream" });
      const closed = await client.closed;
      expect(closed.code).toBe(1000);
      const interim = client.ofType("Results").filter((m) => !m.is_final);
      expect(interim.length).toBeGreaterThan(0);
      const transcripts = finals(client);
      expect(transcripts.length).toBeGreaterThanOrEqual(3);
      expect(pitchesIn(transcripts).every((hz) => Math.abs(hz - 220) <= 20)).toBe(true);
      expect(client.ofType("SpeechStarted").length).toBeGreaterThanOrEqual(3);
      const sessions = ctx.standin.sessions().slice(sentAtStart);
      const receivedMs = sessions.reduce((sum, s) => sum + s.receivedAudioMs, 0);
      const sentMs = packetsDurationMs(packets);
      console.log(`[e2e] sent ${sentMs} ms of audio, stand-in received ${receivedMs} ms; Metadata after ${metadata.wait_ms} ms (cold)`);
      expect(Math.abs(receivedMs - sentMs) / sentMs).toBeLessThanOrEqual(0.05);
    },
    60_000,
  );

  register(
    "two concurrent sessions on one container never mix audio",
    async () => {
      await setUp();
      const [low, high] = await Promise.all([speechPackets(180, 2), speechPackets(360, 2)]);
      const a = TestClient.connect(`${ctx.gateway.listenUrl}?sessionId=mix-a&${QUERY}`);
      const b = TestClient.connect(`${ctx.gateway.listenUrl}?sessionId=mix-b&${QUERY}`);
      const [ma, mb] = await Promise.all([a.next("Metadata"), b.next("Metadata")]);
      expect(ma.container).toBe(mb.container);
      await Promise.all([a.stream(low), b.stream(high)]);
      a.send({ type: "CloseStream" });
      b.send({ type: "CloseStream" });
      expect((await a.closed).code).toBe(1000);
      expect((await b.closed).code).toBe(1000);
      expect(finals(a).length).toBeGreaterThanOrEqual(2);
      expect(finals(b).length).toBeGreaterThanOrEqual(2);
      for (const hz of pitchesIn(finals(a))) expect(Math.abs(hz - 180)).toBeLessThanOrEqual(20);
      for (const hz of pitchesIn(finals(b))) expect(Math.abs(hz - 360)).toBeLessThanOrEqual(30);
    },
    60_000,
  );

  register(
    "garbage that is not Opus gets an Error, the stream goes on, and other sessions are unaffected",
    async () => {
      await setUp();
      const packets = await speechPackets(250, 1);
      const bystander = TestClient.connect(`${ctx.gateway.listenUrl}?sessionId=bystander&${QUERY}`);
      const victim = TestClient.connect(`${ctx.gateway.listenUrl}?sessionId=garbage&${QUERY}`);
      await Promise.all([bystander.next("Metadata"), victim.next("Metadata")]);
      for (let i = 0; i < 20; i++) victim.send(crypto.getRandomValues(new Uint8Array(200)));
      const error = await victim.next("Error");
      expect(error.code).toBe("bad_audio");
      await Promise.all([victim.stream(packets), bystander.stream(packets)]);
      victim.send({ type: "CloseStream" });
      bystander.send({ type: "CloseStream" });
      expect((await victim.closed).code).toBe(1000);
      expect((await bystander.closed).code).toBe(1000);
      expect(finals(victim).length).toBeGreaterThanOrEqual(1);
      expect(finals(bystander).length).toBeGreaterThanOrEqual(1);
      expect(bystander.ofType("Error")).toHaveLength(0);
    },
    60_000,
  );

  register(
    "a frame over the size limit closes that session with 1009 only",
    async () => {
      await setUp();
      const bystander = TestClient.connect(`${ctx.gateway.listenUrl}?sessionId=calm&${QUERY}`);
      const big = TestClient.connect(`${ctx.gateway.listenUrl}?sessionId=big&${QUERY}`);
      await Promise.all([bystander.next("Metadata"), big.next("Metadata")]);
      big.send(new Uint8Array(ctx.gateway.gateway.config.maxFrameBytes + 1));
      expect((await big.closed).code).toBe(1009);
      bystander.send({ type: "KeepAlive" });
      bystander.send({ type: "CloseStream" });
      expect((await bystander.closed).code).toBe(1000);
    },
    30_000,
  );

  register(
    "an illegal sessionId or bad parameter gets HTTP 400 before the upgrade",
    async () => {
      await setUp();
      const upgrade = {
        upgrade: "websocket",
        connection: "Upgrade",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "13",
      };
      const http = ctx.gateway.listenUrl.replace("ws:", "http:");
      for (const query of ["sessionId=a%20b", "sessionId=../../etc", `sessionId=${"x".repeat(129)}`, "encoding=mp3", "sample_rate=5"]) {
        const response = await fetch(`${http}?${query}`, { headers: upgrade });
        expect(response.status).toBe(400);
        expect((await response.text()).split("\n").filter(Boolean)).toHaveLength(1);
      }
    },
    30_000,
  );

  register(
    "killing the container mid-session closes its clients with 1012 and the next session is served",
    async () => {
      await setUp();
      const packets = await speechPackets(200, 3);
      const client = TestClient.connect(`${ctx.gateway.listenUrl}?sessionId=doomed&${QUERY}`);
      await client.next("Metadata");
      const streaming = client.stream(packets);
      await Bun.sleep(500);
      const killedAt = performance.now();
      await hooks.killInstance(ctx, "shared");
      const closed = await client.closed;
      const closeMs = performance.now() - killedAt;
      await streaming;
      expect(closed.code).toBe(1012);
      expect(client.ofType("Error").at(-1)?.code).toBe("container_stopped");
      console.log(`[e2e] container killed: client closed 1012 after ${closeMs.toFixed(0)} ms`);
      const next = TestClient.connect(`${ctx.gateway.listenUrl}?sessionId=after-crash&${QUERY}`);
      const metadata = await next.next("Metadata", 15_000);
      expect(metadata.start).toBe("wake");
      await next.stream(await speechPackets(300, 1));
      next.send({ type: "CloseStream" });
      expect((await next.closed).code).toBe(1000);
      expect(finals(next).length).toBeGreaterThanOrEqual(1);
      const stats = await ctx.gateway.stats();
      expect(stats.instances[0].connections).toBe(0);
      expect(stats.totals.openSessions).toBe(0);
    },
    60_000,
  );

  register(
    "a container stopped gracefully mid-stream sends the finals, then Error container_stopped and 1012, never 1000; the reconnect is served",
    async () => {
      await setUp();
      const client = TestClient.connect(`${ctx.gateway.listenUrl}?sessionId=evicted&${QUERY}`);
      await client.next("Metadata");
      // Far more audio than is sent before the stop: the client is still sending when its session ends.
      const streaming = client.stream(await speechPackets(240, 8));
      // Stopped in the middle of the second turn: its flush must still reach the client as a final.
      await client.waitFor((m) => m.type === "Results" && m.is_final, 1, 15_000);
      await client.waitFor((m) => m.type === "SpeechStarted", 2, 15_000);
      await Bun.sleep(300);
      const stoppedAt = performance.now();
      const stopping = hooks.stopInstance(ctx, "shared");
      const closed = await client.closed;
      const closeMs = performance.now() - stoppedAt;
      await Promise.all([streaming, stopping]);
      expect(closed.code).toBe(1012);
      const types = client.json.map((m) => m.type);
      const errorAt = types.indexOf("Error");
      expect(client.ofType("Error").map((m) => m.code)).toEqual(["container_stopped"]);
      expect(types.lastIndexOf("Results")).toBeLessThan(errorAt); // the finals came first
      expect(finals(client).length).toBeGreaterThanOrEqual(2);
      console.log(`[e2e] container stopped gracefully: ${finals(client).length} finals, Error, close 1012 after ${closeMs.toFixed(0)} ms`);
      const next = TestClient.connect(`${ctx.gateway.listenUrl}?sessionId=after-eviction&${QUERY}`);
      const metadata = await next.next("Metadata", 15_000);
      expect(["wake", "cold"]).toContain(metadata.start);
      await next.stream(await speechPackets(300, 1));
      next.send({ type: "CloseStream" });
      expect((await next.closed).code).toBe(1000);
      expect(finals(next).length).toBeGreaterThanOrEqual(1);
      expect((await ctx.gateway.stats()).totals.openSessions).toBe(0);
    },
    60_000,
  );

  register("the log lines operators grep for are written as structured JSON", async () => {
    await setUp();
    const messages = ctx.gateway.logs.map((l) => l.msg as string);
    expect(messages).toContain("Transcriber container started");
    expect(messages.some((m) => /^Using dispatcher for sessionId: e2e-speech, container: shared$/.test(m))).toBe(true);
    expect(JSON.stringify(ctx.gateway.logs)).not.toContain("test-key");
  });

  register(
    "gateway shutdown stops every container it started and logs it",
    async () => {
      await setUp();
      await ctx.gateway.stop();
      expect(await hooks.leftovers(ctx)).toBe(0);
      expect(ctx.gateway.logs.map((l) => l.msg)).toContain("Transcriber container stopped");
      const snapshot = ctx.gateway.gateway.state.registry.list().map((i) => i.snapshot());
      expect(snapshot.every((i) => i.state !== "running" && i.connections === 0)).toBe(true);
    },
    30_000,
  );
}
