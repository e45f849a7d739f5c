import { describe, expect, test } from "bun:test";
import { type ClientMessage, speechStarted, utteranceEnd } from "./protocol.ts";
import { UtteranceEndGate } from "./utterance-end.ts";

function gate(gapMs: number | undefined) {
  const sent: ClientMessage[] = [];
  return { gate: new UtteranceEndGate(gapMs, (m) => sent.push(m)), sent };
}

describe("UtteranceEndGate (utterance_end_ms)", () => {
  test("an UtteranceEnd goes out once the audio clock passes the last word's end plus the gap", () => {
    const { gate: g, sent } = gate(1000);
    expect(g.offer(utteranceEnd(800), 1300)).toBe(true);
    expect(sent).toEqual([]);
    g.audioAt(1799);
    expect(sent).toEqual([]);
    g.audioAt(1800);
    expect(sent).toEqual([utteranceEnd(800)]);
    g.audioAt(5000);
    expect(sent).toHaveLength(1);
  });

  test("a late final whose gap has already passed in the audio lets its UtteranceEnd out at once", () => {
    const { gate: g, sent } = gate(1000);
    g.offer(utteranceEnd(800), 2500);
    expect(sent).toEqual([utteranceEnd(800)]);
  });

  test("speech starting again inside the gap drops the held UtteranceEnd; the next final proposes its own", () => {
    const { gate: g, sent } = gate(1000);
    g.offer(utteranceEnd(800), 1200);
    expect(g.offer(speechStarted(1500), 1500)).toBe(false); // SpeechStarted itself is the caller's to send
    g.audioAt(3000);
    expect(sent).toEqual([]);
    g.offer(utteranceEnd(2400), 3000);
    g.audioAt(3400);
    expect(sent).toEqual([utteranceEnd(2400)]);
  });

  test("speech reported before a late final, inside its gap, means no UtteranceEnd for that final", () => {
    const { gate: g, sent } = gate(1000);
    g.offer(speechStarted(1600), 1600);
    expect(g.offer(utteranceEnd(800), 2000)).toBe(true);
    g.audioAt(4000);
    expect(sent).toEqual([]);
  });

  test("speech after the gap does not cancel; the stream's close flushes a held UtteranceEnd", () => {
    const { gate: g, sent } = gate(1000);
    g.offer(speechStarted(2000), 2000);
    g.offer(utteranceEnd(800), 1000);
    g.flush();
    expect(sent).toEqual([utteranceEnd(800)]);
    g.flush();
    expect(sent).toHaveLength(1);
  });

  test("without utterance_end_ms the gate takes nothing (the client's switch decides)", () => {
    const { gate: g, sent } = gate(undefined);
    expect(g.offer(utteranceEnd(800), 0)).toBe(false);
    g.flush();
    expect(sent).toEqual([]);
  });
});
