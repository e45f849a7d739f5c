import { describe, expect, test } from "bun:test";
import { parseListenParams } from "./params.ts";

const parse = (query: string) => parseListenParams(new URLSearchParams(query));

describe("parseListenParams", () => {
  test("defaults to a 48 kHz mono Opus stream", () => {
    expect(parse("")).toEqual({ encoding: "opus", sampleRateHz: 48000, channels: 1, language: undefined, sessionId: undefined });
  });

  test("accepts the documented parameters, with session_id or the gateway's sessionId", () => {
    expect(parse("encoding=linear16&sample_rate=16000&channels=2&language=pt-BR&sessionId=a.b:c-1")).toEqual({
      encoding: "linear16",
      sampleRateHz: 16000,
      channels: 2,
      language: "pt-BR",
      sessionId: "a.b:c-1",
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
  });
});
