/**
 * The directory copy's ordering rules without Redis (the scripts on a real redis-server: directory.test.ts):
 * whatever order notices, replies and full reads arrive in, an older fact never overwrites a newer one, a gap
 * asks for a read, and a reset after Redis lost its data tells no listener (the containers still run).
 */
import { describe, expect, test } from "bun:test";
import { DirectoryCopy, type DirectoryRecord } from "./directory-copy.ts";

function raw(id: string, v: number, fence: string, state = "running"): string {
  return JSON.stringify({ i: id, s: state, f: fence, o: "gw-0", a: 1, v, c: `c-${fence}`, h: "127.0.0.1", p: 4000 + v });
}

describe("DirectoryCopy", () => {
  test("notices in order advance; a gap asks for a read; an older notice than the record is ignored", () => {
    const copy = new DirectoryCopy();
    expect(copy.applyNotice(1, "pool-0", raw("pool-0", 1, "e.1", "starting"))).toBe(false);
    expect(copy.applyNotice(2, "pool-0", raw("pool-0", 2, "e.1"))).toBe(false);
    expect(copy.get("pool-0")?.state).toBe("running");
    expect(copy.applyNotice(4, "pool-1", raw("pool-1", 4, "e.2"))).toBe(true); // 3 was missed
    expect(copy.applyNotice(1, "pool-0", raw("pool-0", 1, "e.1", "starting"))).toBe(false); // late, not a gap
    expect(copy.get("pool-0")?.state).toBe("running");
    expect(copy.count()).toBe(2);
  });

  test("a read older than a notice already applied keeps the notice's fact, drops and all", () => {
    const copy = new DirectoryCopy();
    copy.applyRead(5, ["pool-0", raw("pool-0", 5, "e.1"), "pool-1", raw("pool-1", 4, "e.2")]);
    copy.applyNotice(7, "pool-0", false, { fence: "e.1", reason: "idle", expected: true });
    copy.applyNotice(8, "pool-2", raw("pool-2", 8, "e.3"));
    // A read answered at version 6 left Redis before those notices: it must not bring pool-0 back or drop pool-2.
    copy.applyRead(6, ["pool-0", raw("pool-0", 5, "e.1"), "pool-1", raw("pool-1", 4, "e.2")]);
    expect([copy.get("pool-0"), copy.get("pool-2")?.fence, copy.count()]).toEqual([undefined, "e.3", 2]);
    // A read at 9 is the truth as of 9: pool-1 is gone.
    copy.applyRead(9, ["pool-2", raw("pool-2", 8, "e.3")]);
    expect([copy.get("pool-1"), copy.count(), copy.contiguous]).toEqual([undefined, 1, 9]);
  });

  test("listeners hear each change once with the drop's reason; a reset tells nobody", () => {
    const copy = new DirectoryCopy();
    const heard: Array<[string, string | undefined, string | undefined, string | undefined]> = [];
    copy.onChange((id, before, after, drop) => heard.push([id, before?.fence, after?.fence, drop?.reason]));
    const written: DirectoryRecord = copy.applyWritten(raw("auto-0", 1, "e.1"));
    copy.applyNotice(1, "auto-0", raw("auto-0", 1, "e.1")); // this gateway's own write's notice: nothing new
    copy.applyDropped("auto-0", { fence: "e.1", reason: "stopped", expected: true });
    copy.applyNotice(2, "auto-0", false, { fence: "e.1", reason: "stopped", expected: true }); // its notice: nothing new
    copy.applyNotice(3, "auto-1", raw("auto-1", 3, "e.2"));
    copy.reset();
    expect(written.fence).toBe("e.1");
    expect(heard).toEqual([
      ["auto-0", undefined, "e.1", undefined],
      ["auto-0", "e.1", undefined, "stopped"],
      ["auto-1", undefined, "e.2", undefined],
    ]);
    expect([copy.count(), copy.get("auto-1"), copy.contiguous]).toEqual([0, undefined, 0]);
  });
});
