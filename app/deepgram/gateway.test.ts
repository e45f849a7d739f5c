/**
 * Deepgram's routes and handshake on a real gateway (process driver, the stand-in behind it): the token
 * grant, refusals with `dg-error`, the 101's routing headers, and pre-recorded requests, good and bad.
 * The SDK's own view of the same is in sdk-podman.test.ts and sdk-browser.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { parseTranscript } from "../../standin/transcript.ts";
import { speechLikePcm48k } from "../../test/audio.ts";
import { TestClient } from "../../test/client.ts";
import { startTestGateway, type TestGateway } from "../../test/gateway.ts";
import { rawUpgrade } from "../../test/raw-upgrade.ts";

const KEY = "dg-gateway-test-key-0123456789";
let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway(
    {
      ROUTING_MODE: "shared",
      CONTAINER_DRIVER: "process",
      CONTAINER_NETWORK: "host",
      API_KEYS: KEY,
      TOKEN_SECRET: "g".repeat(40),
      TOKEN_TTL: "2m",
    },
    { standin: true },
  );
});

afterAll(async () => {
  await gw?.stop();
});

const grant = (headers: Record<string, string>, body?: object) =>
  fetch(`${gw.httpUrl}/v1/auth/grant`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: body && JSON.stringify(body),
  });

describe("POST /v1/auth/grant", () => {
  test("an API key gets { access_token, expires_in }, TOKEN_TTL by default or ttl_seconds", async () => {
    const byDefault = await grant({ authorization: `Token ${KEY}` });
    expect(byDefault.status).toBe(200);
    expect(byDefault.headers.get("cache-control")).toBe("no-store");
    expect(await byDefault.json()).toEqual({ access_token: expect.stringMatching(/^te1\./), expires_in: 120 });
    const short = await grant({ authorization: `token ${KEY}` }, { ttl_seconds: 30 });
    expect((await short.json()) as object).toMatchObject({ expires_in: 30 });
  });

  test("a wrong key is 401, a token cannot grant, ttl_seconds beyond TOKEN_TTL is 400; reasons in dg-error", async () => {
    const wrong = await grant({ authorization: "Token not-a-key-0123456789" });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("dg-error")).toBe("API key required: Authorization: Token <API key>");
    const { access_token } = (await (await grant({ authorization: `Token ${KEY}` })).json()) as { access_token: string };
    expect((await grant({ authorization: `Bearer ${access_token}` })).status).toBe(401);
    const long = await grant({ authorization: `Token ${KEY}` }, { ttl_seconds: 121 });
    expect(long.status).toBe(400);
    expect(long.headers.get("dg-error")).toBe("ttl_seconds: expected at most 120 (TOKEN_TTL), got 121");
  });
});

describe("the live handshake", () => {
  test("refusals carry their reason in the body and in dg-error", async () => {
    const noKey = await rawUpgrade(`${gw.httpUrl}/v1/listen`);
    expect(noKey.status).toBe(401);
    expect(noKey.headers["dg-error"]).toStartWith("credential required");
    expect(noKey.body.trim()).toBe(noKey.headers["dg-error"]!);
    const badParam = await rawUpgrade(`${gw.httpUrl}/v1/listen?interim_results=maybe`, { authorization: `Token ${KEY}` });
    expect(badParam.status).toBe(400);
    expect(badParam.headers["dg-error"]).toBe('interim_results: expected true or false, got "maybe"');
    const refused = await rawUpgrade(`${gw.httpUrl}/v1/listen?multichannel=true`, { authorization: `Token ${KEY}` });
    expect(refused.headers["dg-error"]).toStartWith("multichannel: ");
  });

  test("the 101 carries dg-request-id and the routing facts, the same as the first Metadata", async () => {
    const answer = await rawUpgrade(`${gw.httpUrl}/v1/listen?sessionId=hs-1`, { authorization: `Token ${KEY}` });
    expect(answer.status).toBe(101);
    answer.close();
    expect(answer.headers["dg-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(answer.headers["x-transcribe-edge-session-id"]).toBe("hs-1");
    expect(answer.headers["x-transcribe-edge-container"]).toBe("shared");
    expect(answer.headers["x-transcribe-edge-routing"]).toBe("shared");
    const client = new TestClient(
      new WebSocket(`${gw.listenUrl}?sessionId=hs-2`, { headers: { authorization: `Token ${KEY}` } } as unknown as string[]),
    );
    const metadata = await client.next("Metadata", 15_000);
    expect(metadata).toMatchObject({ container: "shared", session_id: "hs-2", duration: 0, channels: 1, transaction_key: "deprecated" });
    // The replica that routed it, beside Deepgram's fields.
    expect(metadata.gateway).toBe(gw.gateway.config.gatewayId);
    client.ws.close();
  });
});

describe("POST /v1/listen (pre-recorded)", () => {
  const post = (
    query: string,
    body: Uint8Array<ArrayBuffer> | string,
    headers: Record<string, string> = { authorization: `Token ${KEY}` },
  ) =>
    fetch(`${gw.httpUrl}/v1/listen?${query}`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream", ...headers },
      body,
    });

  test("raw linear16 with its rate is transcribed, through the shared container", async () => {
    const pcm = speechLikePcm48k({ pitchHz: 260, turns: [{ speechMs: 700, silenceMs: 700 }] });
    const response = await post("encoding=linear16&sample_rate=48000&channels=1", new Uint8Array(pcm.buffer as ArrayBuffer));
    expect(response.status).toBe(200);
    expect(response.headers.get("dg-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const body = (await response.json()) as any;
    // The speech's item, and perhaps the trailing silence as a second one: CloseStream commits what is buffered
    // when the stand-in's VAD has not yet said the turn ended (the two race on a loaded machine).
    const [speech, trailing] = String(body.results.channels[0].alternatives[0].transcript).split(/(?<=hz) /);
    if (trailing !== undefined) expect(parseTranscript(trailing)).toMatchObject({ kind: "silence" });
    const heard = parseTranscript(speech!);
    expect(heard).toMatchObject({ kind: "speech", hz: 260 });
    expect(Math.abs(heard!.ms - 700)).toBeLessThanOrEqual(35);
    expect(body.metadata).toMatchObject({ request_id: response.headers.get("dg-request-id"), duration: 1.4, channels: 1 });
    expect(gw.logs.some((line) => line.msg === `Using dispatcher for sessionId: ${body.metadata.request_id}, container: shared`)).toBe(
      true,
    );
    expect((await gw.stats()).totals.sessions).toBeGreaterThanOrEqual(1);
  }, 30_000);

  test("an empty body, audio it cannot read and a missing key are refused with the reason", async () => {
    const empty = await post("", "");
    expect(empty.status).toBe(400);
    expect(empty.headers.get("dg-error")).toStartWith("the request body is empty");
    const unknown = await post("", "not audio at all");
    expect(unknown.status).toBe(400);
    expect(unknown.headers.get("dg-error")).toStartWith("unrecognised audio");
    const brokenWav = await post("", "RIFF\u0000\u0000\u0000\u0000WAVEfmt ");
    expect(brokenWav.status).toBe(400);
    expect(brokenWav.headers.get("dg-error")).toStartWith("cannot read the audio file: truncated");
    const byUrl = await post("", JSON.stringify({ url: "http://127.0.0.1:9/a.wav" }), {
      authorization: `Token ${KEY}`,
      "content-type": "application/json",
    });
    expect(byUrl.status).toBe(400);
    expect(byUrl.headers.get("dg-error")).toStartWith("transcribing a URL is not supported");
    const noKey = await post("", "RIFF", {});
    expect(noKey.status).toBe(401);
    const badModel = await post("model=nova-9000x", "RIFF");
    expect(badModel.status).toBe(400);
    expect(badModel.headers.get("dg-error")).toStartWith('model: unknown model "nova-9000x"');
  });
});
