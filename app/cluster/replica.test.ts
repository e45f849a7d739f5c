/**
 * How news from Redis applies to a gateway's copy, without Redis (the same paths run against a real
 * redis-server in cluster.test.ts, outage.test.ts and model.test.ts): nothing older than what was applied
 * goes over it, and a gap in the shared facts' versions is left for the next heartbeat to read.
 */
import { expect, test } from "bun:test";
import { ClusterReplica } from "./replica.ts";

const open = (g: string, v: number, s: string, i: string, c: number, t = 1) => JSON.stringify({ k: "open", g, v: String(v), s, i, c, t });
const own = (s: string, i: string, cv: number) => JSON.stringify({ k: "own", s, i, cv });
const slot = (i: string, on: boolean, cv: number) => JSON.stringify({ k: "slot", i, on, cv });

test("a peer's notice older than the snapshot applied is ignored; a newer one applies", () => {
  const replica = new ClusterReplica("gw-self", () => 100);
  replica.applySnapshot("0", ["gw-peer", JSON.stringify({ a: "10.0.0.2:8080", t: 90 }), ["s1\npool-0", "2", "_v", "10"]], [], [], []);
  expect(replica.view.load("pool-0")).toBe(2);
  replica.applyNotice(open("gw-peer", 9, "s1", "pool-0", 0));
  expect(replica.view.load("pool-0")).toBe(2);
  replica.applyNotice(open("gw-peer", 11, "s1", "pool-0", 1));
  expect(replica.view.load("pool-0")).toBe(1);
  // This gateway's own notices come back on the channel too: its copy is already ahead of them.
  replica.view.set("gw-self", 1, "s2", "pool-0", 1, 5);
  replica.applyNotice(open("gw-self", 1, "s2", "pool-0", 7));
  expect(replica.view.load("pool-0")).toBe(2);
});

test("own instances and slots: a notice already reflected is ignored, one in order advances, a gap waits for a read", () => {
  const replica = new ClusterReplica("gw-self", () => 0);
  replica.applyShared(5, ["s1", "spare-0"], ["auto-0"]);
  replica.applyNotice(own("s1", "", 5)); // what the snapshot at cv 5 already holds
  expect(replica.own.get("s1")).toBe("spare-0");
  replica.applyNotice(own("s2", "spare-1", 6));
  expect([replica.own.get("s2"), replica.appliedCv]).toEqual(["spare-1", 6]);
  replica.applyNotice(slot("auto-1", true, 8)); // cv 7 never arrived
  expect([replica.slots.has("auto-1"), replica.appliedCv]).toEqual([true, 6]);
});

test("a slot reply is not applied over a newer notice that already came on the other connection", () => {
  const replica = new ClusterReplica("gw-self", () => 0);
  replica.applyShared(0, [], []);
  replica.applyNotice(slot("auto-2", true, 1));
  replica.applyNotice(slot("auto-2", false, 2)); // another gateway freed it after this one took it
  replica.applySlot("auto-2", true, 1); // this gateway's take, answered late
  expect([replica.slots.has("auto-2"), replica.appliedCv]).toEqual([false, 2]);
  replica.applySlot("auto-3", true, 3);
  expect([replica.slots.has("auto-3"), replica.appliedCv]).toEqual([true, 3]);
});

test("a heartbeat forgets peers it no longer lists, names peers whose version is ahead, and reports this gateway's", () => {
  const replica = new ClusterReplica("gw-self", () => 1000);
  replica.applyNotice(open("gw-gone", 3, "s1", "pool-1", 2));
  replica.applyNotice(open("gw-peer", 4, "s2", "pool-1", 1));
  expect(replica.view.load("pool-1")).toBe(3);
  const presence = JSON.stringify({ a: "10.0.0.3:8080", t: 900 });
  const result = replica.applyHeartbeat(["gw-self", presence, "77", "gw-peer", presence, "9"]);
  expect(result).toEqual({ behind: ["gw-peer"], selfVersion: 77 });
  expect(replica.view.load("pool-1")).toBe(1);
  expect(replica.gateways("127.0.0.1:8080")).toEqual([
    { id: "gw-self", sessions: 0, lastSeenMs: 0, address: "127.0.0.1:8080" },
    { id: "gw-peer", sessions: 1, lastSeenMs: 100, address: "10.0.0.3:8080" },
  ]);
});

test("a notice that is not JSON changes nothing", () => {
  const replica = new ClusterReplica("gw-self", () => 0);
  expect(replica.applyNotice("not json")).toBeUndefined();
  expect(replica.view.totalLoad()).toBe(0);
});
