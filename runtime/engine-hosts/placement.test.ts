import { expect, test } from "bun:test";
import { chooseHost, NoHostAvailableError, type PlacementCandidate } from "./placement.ts";

const host = (name: string, running: number, limit?: number, placeable = true): PlacementCandidate => ({ name, running, limit, placeable });

test("the host with the most free capacity wins; unlimited hosts compare by fewer running", () => {
  expect(chooseHost([host("a", 3, 4), host("b", 1, 4), host("c", 0, 2)], "x")).toBe("b");
  expect(chooseHost([host("a", 3), host("b", 1), host("c", 2)], "x")).toBe("b");
  expect(chooseHost([host("a", 0, 2), host("b", 5)], "x")).toBe("b"); // no limit: more room than any limit
});

test("ties go by the instance's hash: the same instance returns to the same host, different instances spread", () => {
  const hosts = [host("h1", 0), host("h2", 0), host("h3", 0)];
  const picks = Array.from({ length: 300 }, (_, i) => chooseHost(hosts, `session-${i}`));
  expect(Array.from({ length: 300 }, (_, i) => chooseHost([...hosts].reverse(), `session-${i}`))).toEqual(picks);
  for (const name of ["h1", "h2", "h3"]) expect(picks.filter((p) => p === name).length).toBeGreaterThan(70);
  // Removing one host moves only the instances that were on it.
  const without = Array.from({ length: 300 }, (_, i) => chooseHost([hosts[0]!, hosts[2]!], `session-${i}`));
  picks.forEach((pick, i) => pick !== "h2" && expect(without[i]).toBe(pick));
});

test("a host at its limit, down, drained or without the image is skipped; none left is a typed error", () => {
  expect(chooseHost([host("a", 2, 2), host("b", 5, 6)], "x")).toBe("b");
  expect(chooseHost([host("a", 0, 9, false), host("b", 5, 6)], "x")).toBe("b");
  const full = (() => {
    try {
      chooseHost([host("a", 2, 2), host("b", 6, 6), host("c", 0, 1, false)], "x");
    } catch (error) {
      return error;
    }
  })();
  expect(full).toBeInstanceOf(NoHostAvailableError);
  expect((full as NoHostAvailableError).message).toBe("every engine host is at its limit (a 2/2, b 6/6); retry later");
  expect((full as NoHostAvailableError).retryAfterS).toBeGreaterThan(0);
  expect(() => chooseHost([host("a", 0, 2, false)], "x")).toThrow(
    "no engine host can take instances now (a: down, draining or without the image)",
  );
});
