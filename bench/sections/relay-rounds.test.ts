import { describe, expect, test } from "bun:test";
import { haproxyConfig } from "../haproxy.ts";
import { p99Ratio, roundOrder, type TargetFigures } from "./relay-rounds.ts";

const figures = (p99Rounds: number[], cpu?: number): TargetFigures => ({
  p50: 0,
  p99: [...p99Rounds].sort((a, b) => a - b)[Math.floor(p99Rounds.length / 2)]!,
  p99_rounds: p99Rounds,
  msgs_per_s: 10_000,
  lost: 0,
  ...(cpu === undefined ? {} : { cpu_us_per_frame: cpu }),
});

describe("interleaved relay rounds", () => {
  test("over N rounds every target runs once in every slot", () => {
    const targets = ["direct", "gateway", "haproxy"];
    const rounds = [0, 1, 2].map((r) => roundOrder(targets, r));
    expect(rounds).toEqual([
      ["direct", "gateway", "haproxy"],
      ["gateway", "haproxy", "direct"],
      ["haproxy", "direct", "gateway"],
    ]);
    for (let slot = 0; slot < targets.length; slot++) expect(new Set(rounds.map((order) => order[slot])).size).toBe(targets.length);
  });

  test("the ratio pairs each round with the same round of the baseline", () => {
    const ratio = p99Ratio(figures([1, 10, 2], 9), figures([4, 10, 4], 12));
    expect(ratio.p99).toBe(0.5);
    expect(ratio.cpu_per_frame).toBe(0.75);
    // Half the baseline's p99 in two rounds of three: the rounds' ratios say 0.5x, the medians 1.5x.
    const paired = p99Ratio(figures([1, 10, 3]), figures([2, 20, 1.5]));
    expect(paired.p99).toBe(1.5);
    expect(paired.p99_rounds_median).toBe(0.5);
  });
});

describe("haproxy baseline configuration", () => {
  test("threads and http-no-delay appear only when asked for", () => {
    const plain = haproxyConfig(8000, [{ host: "127.0.0.1", port: 9000 }]);
    expect(plain).not.toContain("nbthread");
    expect(plain).not.toContain("http-no-delay");
    expect(plain).toContain("balance url_param sessionId");
    const tuned = haproxyConfig(8000, [{ path: "/run/t.sock" }], { threads: 1, noDelay: true });
    expect(tuned).toContain("  nbthread 1\n");
    expect(tuned).toContain("  option http-no-delay\n");
    expect(tuned).toContain("server t0 /run/t.sock");
  });
});
