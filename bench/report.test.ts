import { expect, test } from "bun:test";
import { Report } from "./report.ts";

/** The table's row whose measure starts with `measure`, split into its cells. */
function row(table: string, measure: string): string[] | undefined {
  const line = table.split("\n").find((l) => l.startsWith(`| ${measure}`));
  return line
    ?.split("|")
    .slice(1, -1)
    .map((cell) => cell.trim());
}

test("the capacity rows show the largest passing step and the transcribers' CPU per session there, against the targets", () => {
  const report = new Report(() => {});
  report.set("capacity", {
    max_sessions: 260,
    steps: [
      { sessions: 220, cpu_pct_per_session: { transcribers: 0.366 } },
      { sessions: 260, cpu_pct_per_session: { transcribers: 0.337 } },
      { sessions: 300, cpu_pct_per_session: { transcribers: 0.298 } },
    ],
  });
  const table = report.table();
  expect(row(table, "capacity ladder: real-time sessions")?.slice(1)).toEqual([
    "260",
    ">= 400 (no frame lost, finals p99 < 1 s, hop p99 < 20 ms)",
    "NO",
  ]);
  // The failing step's lower figure (a starved transcriber) is not the one reported.
  expect(row(table, "capacity ladder: transcriber CPU")?.slice(1)).toEqual(["0.337", "<= 0.3", "NO"]);
  expect(row(table, "capacity ladder, local recognizer: real-time")?.[1]).toBe("-");
  expect(row(table, "capacity ladder, LibriVox speech as WebRTC encodes it")?.[1]).toBe("-");
});

test("the speech ladder's rows read its own key", () => {
  const report = new Report(() => {});
  report.set("capacity_speech", { max_sessions: 220, steps: [{ sessions: 220, cpu_pct_per_session: { transcribers: 0.41 } }] });
  const table = report.table();
  expect(row(table, "capacity ladder, LibriVox speech as WebRTC encodes it")?.[1]).toBe("220");
  expect(row(table, "capacity ladder, LibriVox speech: transcriber CPU")?.[1]).toBe("0.41");
  expect(row(table, "capacity ladder: real-time sessions")?.[1]).toBe("-");
});

test("the relay ladder's row compares nothing when neither proxy held p99 under 20 ms", () => {
  const report = new Report(() => {});
  report.set("relay.max_sessions_p99_under_20ms", { gateway: 0, haproxy: 0 });
  expect(row(report.table(), "sessions at p99 < 20 ms")?.slice(1)).toEqual(["gateway 0 / haproxy 0", ">= haproxy", "-"]);
  report.set("relay.max_sessions_p99_under_20ms", { gateway: 200, haproxy: 0 });
  expect(row(report.table(), "sessions at p99 < 20 ms")?.[3]).toBe("yes");
});

test("the ramped overload rows count sessions taken, refused and cut; none cut meets the target", () => {
  const report = new Report();
  report.set("capacity_overload", { opened: 253, refused: 147, cut_after_open: {} });
  report.set("capacity_capped", { opened: 240, refused: 0, cut_after_open: { "1013": 181 } });
  const table = report.table();
  expect(row(table, "ramped past the machine's CPU")?.slice(1)).toEqual([
    "253 taken / 147 refused / 0 cut",
    "0 cut (refused before the upgrade instead)",
    "yes",
  ]);
  expect(row(table, "ramped past CONTAINER_CPUS")?.slice(1, 2)).toEqual(["240 taken / 0 refused / 181 cut"]);
  expect(row(table, "ramped past CONTAINER_CPUS")?.[3]).toBe("NO");
});

test("the burst rows show the baseline and the defaults with their finals; the defaults meet the target only with none cut and finals under 1 s", () => {
  const report = new Report();
  report.set("capacity_burst", {
    figure_off: { opened: 400, refused: 0, cut_after_open: { "1013": 61 }, final_lag_ms: { p99: 7061 } },
    defaults: { opened: 169, refused: 231, cut_after_open: {}, final_lag_ms: { p99: 591 } },
    defaults_retrying: { opened: 214, refused: 186, cut_after_open: {}, final_lag_ms: { p99: 1200 } },
  });
  const table = report.table();
  expect(row(table, "burst at once onto a serving gateway")?.slice(1, 2)).toEqual(["400 taken / 0 refused / 61 cut; 7061"]);
  expect(row(table, "the same burst at the defaults")?.slice(1)).toEqual([
    "169 taken / 231 refused / 0 cut; 591",
    "0 cut, finals p99 < 1,000 ms",
    "yes",
  ]);
  expect(row(table, "the same burst, each refused session retrying")?.[3]).toBe("NO");
  expect(row(new Report().table(), "the same burst at the defaults")?.[1]).toBe("-");
});
