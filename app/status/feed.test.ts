import { expect, test } from "bun:test";
import { EventFeed } from "./feed.ts";
import { statusPageHtml } from "./page.ts";
import { StatusSeries } from "./series.ts";

test("the feed keeps the newest entries, newest first, and skips single sessions", () => {
  const feed = new EventFeed(3, () => 1000);
  expect(feed.add({ type: "session_opened", sessionId: "s", instanceId: "pool-0", start: "warm", waitMs: 1 })).toBe(false);
  feed.add({ type: "instance", instanceId: "pool-0", from: "starting", to: "running", start: { kind: "cold", ms: 412.3 } });
  feed.add({ type: "instance", instanceId: "pool-0", from: "running", to: "sleeping" });
  feed.add({ type: "instance", instanceId: "pool-0", from: "starting", to: "running", start: { kind: "wake", ms: 300 } });
  feed.add({ type: "instance", instanceId: "pool-1", from: "starting", to: "failed", error: "no image" });
  expect(feed.recent().map((e) => [e.kind, e.text])).toEqual([
    ["failed", "pool-1 failed: no image"],
    ["woke", "pool-0 woke in 300 ms"],
    ["stopped", "pool-0 stopped (was running)"],
  ]);
  feed.add({ type: "rejected", reason: "capacity", status: 503 });
  expect(feed.recent()[0]).toMatchObject({ kind: "rejected", text: "session refused: capacity (503)", seq: 5 });
});

test("session samples closer than a step share one point holding their peak; rings stay bounded", () => {
  let now = 0;
  const series = new StatusSeries({ sessionSamples: 3, clock: () => now });
  series.sampleSessions(1);
  now = 100;
  series.sampleSessions(2);
  now = 200;
  series.sampleSessions(0);
  expect(series.toJSON().sessions).toEqual([{ atMs: 0, open: 2 }]);
  for (const t of [1000, 2000, 3000]) {
    now = t;
    series.sampleSessions(t / 1000);
  }
  expect(series.toJSON().sessions.map((p) => p.atMs)).toEqual([1000, 2000, 3000]);
});

test("text from the gateway cannot break out of the embedded snapshot", () => {
  const html = statusPageHtml({ mode: "pool", lastError: "</script><script>alert(1)</script>" } as never);
  expect(html.match(/<\/script>/g)!.length).toBe(2); // the JSON block's end and the page script's end
  expect(html).toContain("\\u003c/script>");
});
