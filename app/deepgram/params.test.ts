import { describe, expect, test } from "bun:test";
import { loadConfig } from "../config.ts";
import { ModelTable, parseModels } from "./models.ts";
import { deepgramUpstreamParams, HONOURED, NO_OPS, parseDeepgramQuery, REFUSED } from "./params.ts";

const table = new ModelTable(parseModels("nova-3=gpt-4o-mini-transcribe,house=whisper-1"), "gpt-4o-transcribe");
const parse = (query: string) => parseDeepgramQuery(new URLSearchParams(query), table);

describe("parseDeepgramQuery", () => {
  test("defaults as Deepgram: no interim results, no VAD events, no UtteranceEnd, the backend's endpointing and model", () => {
    expect(parse("")).toEqual({
      ok: true,
      options: {
        interimResults: false,
        vadEvents: false,
        utteranceEndMs: undefined,
        endpointingMs: undefined,
        model: undefined,
        tags: [],
        extra: {},
      },
    });
  });

  test("reads the honoured parameters", () => {
    const parsed = parse(
      "interim_results=true&vad_events=true&utterance_end_ms=1500&endpointing=250&model=house&tag=a&tag=b&extra=team:x&extra=k:v:w",
    );
    expect(parsed).toEqual({
      ok: true,
      options: {
        interimResults: true,
        vadEvents: true,
        utteranceEndMs: 1500,
        endpointingMs: 250,
        model: "whisper-1",
        tags: ["a", "b"],
        extra: { team: "x", k: "v:w" },
      },
    });
    expect(parse("endpointing=false")).toMatchObject({ options: { endpointingMs: false } });
  });

  test("maps model names: MODELS first, then Deepgram's families (and variants) to TRANSCRIBE_MODEL, then the backend's names", () => {
    expect(parse("model=nova-3")).toMatchObject({ options: { model: "gpt-4o-mini-transcribe" } });
    expect(parse("model=nova-2-meeting")).toMatchObject({ options: { model: "gpt-4o-transcribe" } });
    expect(parse("model=whisper-1")).toMatchObject({ options: { model: "whisper-1" } });
  });

  test("refuses an unknown model, naming it and the accepted names", () => {
    expect(parse("model=nova-9").ok).toBe(false);
    const parsed = parse("model=flux-9");
    expect(parsed).toEqual({ ok: false, message: expect.stringContaining('model: unknown model "flux-9"') });
    expect(!parsed.ok && parsed.message).toContain("nova-3");
  });

  test("refuses bad values naming the parameter", () => {
    for (const [query, name] of [
      ["interim_results=yes", "interim_results"],
      ["vad_events=1", "vad_events"],
      ["utterance_end_ms=500", "utterance_end_ms"],
      ["endpointing=soon", "endpointing"],
      ["extra=novalue", "extra"],
    ]) {
      expect(parse(query!)).toEqual({ ok: false, message: expect.stringMatching(new RegExp(`^${name}: `)) });
    }
  });

  test("refuses the parameters it cannot honour when switched on, and accepts them off; no-ops pass", () => {
    expect(parse("callback=https%3A%2F%2Fexample.invalid%2Fhook")).toEqual({ ok: false, message: expect.stringMatching(/^callback: /) });
    expect(parse("multichannel=true")).toEqual({ ok: false, message: expect.stringMatching(/^multichannel: /) });
    expect(parse("redact=pci")).toEqual({ ok: false, message: expect.stringMatching(/^redact: /) });
    expect(parse("multichannel=false&redact=false").ok).toBe(true);
    expect(parse("punctuate=true&smart_format=true&diarize=true&numerals=true&keyterm=x").ok).toBe(true);
  });

  test("every documented parameter is in exactly one list", () => {
    const all = [...HONOURED, ...NO_OPS, ...Object.keys(REFUSED)];
    expect(new Set(all).size).toBe(all.length);
  });
});

test("the transcriber's parameters carry the options and the request id", () => {
  const parsed = parse("interim_results=true&utterance_end_ms=1000&endpointing=false&model=nova-3");
  if (!parsed.ok) throw new Error(parsed.message);
  expect(Object.fromEntries(deepgramUpstreamParams(parsed.options, "req-1"))).toEqual({
    interim_results: "true",
    vad_events: "false",
    request_id: "req-1",
    utterance_end_ms: "1000",
    endpointing: "false",
    model: "gpt-4o-mini-transcribe",
  });
});

describe("MODELS", () => {
  test("a malformed entry fails the configuration, naming MODELS", () => {
    expect(() => loadConfig({ TRANSCRIBER_BACKEND: "echo", MODELS: "nova-3" })).toThrow(/^MODELS: expected name=model pairs/);
    expect(() => loadConfig({ TRANSCRIBER_BACKEND: "echo", MODELS: "a=b=c" })).toThrow(/^MODELS: /);
    expect(loadConfig({ TRANSCRIBER_BACKEND: "echo", MODELS: " nova-3 = whisper-1 , x=y" }).models).toEqual({
      "nova-3": "whisper-1",
      x: "y",
    });
  });
});
