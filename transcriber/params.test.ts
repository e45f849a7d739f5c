import { describe, expect, test } from "bun:test";
import { parseListenParams } from "./params.ts";

const parse = (query: string) => parseListenParams(new URLSearchParams(query));

describe("parseListenParams", () => {
  test("defaults to a 48 kHz mono Opus stream", () => {
    expect(parse("")).toEqual({
      encoding: "opus",
      sampleRateHz: 48000,
      channels: 1,
      language: undefined,
      sessionId: undefined,
      interimResults: false,
      vadEvents: false,
      utteranceEndMs: undefined,
      endpointingMs: undefined,
      model: undefined,
      requestId: undefined,
      tags: [],
      extra: {},
    });
  });

  test("accepts the documented parameters, with session_id or the gateway's sessionId", () => {
    expect(parse("encoding=linear16&sample_rate=16000&channels=2&language=pt-BR&sessionId=a.b:c-1")).toEqual({
      encoding: "linear16",
      sampleRateHz: 16000,
      channels: 2,
      language: "pt-BR",
      sessionId: "a.b:c-1",
      interimResults: false,
      vadEvents: false,
      utteranceEndMs: undefined,
      endpointingMs: undefined,
      model: undefined,
      requestId: undefined,
      tags: [],
      extra: {},
    });
    expect(parse("session_id=x")).toMatchObject({ sessionId: "x" });
  });

  test("refuses bad values with a reason naming the parameter", () => {
    expect(parse("encoding=mp3")).toEqual({ error: expect.stringContaining("encoding") });
    expect(parse("sample_rate=44100")).toEqual({ error: expect.stringContaining("sample_rate") });
    expect(parse("encoding=linear16&sample_rate=abc")).toEqual({ error: expect.stringContaining("sample_rate") });
    expect(parse("channels=3")).toEqual({ error: expect.stringContaining("channels") });
    expect(parse("language=english!")).toEqual({ error: expect.stringContaining("language") });
    expect(parse("session_id=a%20b")).toEqual({ error: expect.stringContaining("session_id") });
    expect(parse("interim_results=yes")).toEqual({ error: expect.stringContaining("interim_results") });
    expect(parse("utterance_end_ms=soon")).toEqual({ error: expect.stringContaining("utterance_end_ms") });
    expect(parse("endpointing=-5")).toEqual({ error: expect.stringContaining("endpointing") });
    expect(parse("model=a%20b")).toEqual({ error: expect.stringContaining("model") });
  });

  test("reads Deepgram's feature switches; interim results, VAD events and UtteranceEnd are off unless asked for", () => {
    expect(
      parse("interim_results=true&vad_events=true&utterance_end_ms=1000&endpointing=300&model=whisper-1&request_id=r-1"),
    ).toMatchObject({
      interimResults: true,
      vadEvents: true,
      utteranceEndMs: 1000,
      endpointingMs: 300,
      model: "whisper-1",
      requestId: "r-1",
    });
    expect(parse("endpointing=false")).toMatchObject({ endpointingMs: false });
    expect(parse("endpointing=true")).toMatchObject({ endpointingMs: undefined });
    expect(parse("tag=a&tag=b&extra=team:x&extra=nocolon")).toMatchObject({ tags: ["a", "b"], extra: { team: "x" } });
  });
});
