import { describe, expect, test } from "bun:test";
import {
  autoId,
  indexOf,
  numberedId,
  parseInstanceId,
  poolMemberIds,
  SHARED_INSTANCE_ID,
  sessionInstanceId,
  spareId,
} from "./instance-ids.ts";

describe("instance ids", () => {
  test("every kind formats to an id that parses back to the same kind and index", () => {
    expect(parseInstanceId(SHARED_INSTANCE_ID)).toEqual({ kind: "shared" });
    expect(parseInstanceId(poolMemberIds(4)[3]!)).toEqual({ kind: "pool", index: 3 });
    expect(parseInstanceId(autoId(17))).toEqual({ kind: "auto", index: 17 });
    expect(parseInstanceId(spareId(0))).toEqual({ kind: "spare", index: 0 });
    const session = sessionInstanceId("Alice.Smith:42");
    expect(session).toMatch(/^session-[0-9a-f]{16}$/);
    expect(parseInstanceId(session)).toEqual({ kind: "session", digest: session.slice("session-".length) });
  });

  test("numbered ids are built once: the same string for the same index", () => {
    expect(autoId(5)).toBe(numberedId("auto", 5));
    expect(autoId(5)).toBe("auto-5");
  });

  test("indexOf answers only for its own kind and for well-formed indexes", () => {
    expect(indexOf("auto", "auto-12")).toBe(12);
    expect(indexOf("pool", "auto-12")).toBe(-1);
    expect(indexOf("auto", "autoscale-1")).toBe(-1);
    for (const bad of ["auto-", "auto-01", "auto-1x", "auto--1", "auto-1.5", "auto-9999999999"]) expect(indexOf("auto", bad)).toBe(-1);
  });

  test("anything the gateway does not make parses to undefined", () => {
    for (const id of ["", "Shared", "pool", "session-XYZ", "session-0123456789abcdeF", "pool-3 ", "other-1"]) {
      expect(parseInstanceId(id)).toBeUndefined();
    }
  });
});
