/**
 * The routing store's Lua scripts loaded into one Redis connection: SCRIPT LOAD once per (re)connect, then
 * EVALSHA (measured faster than EVAL's resending of the source; docs/performance.md, "Redis client"). A Redis
 * that restarted has forgotten them, which the store notices as a reconnect and answers with a new load.
 */
import type { RedisClient } from "bun";
import { ASSIGN, BYE, type ClusterKeys, HEARTBEAT, PUT, PUT_WITHIN, REGISTER, SLOT, SNAPSHOT } from "./scripts.ts";

/** One function per script: its keys come from the cluster's key names, its arguments as documented there. */
export interface RedisScripts {
  put(keys: ClusterKeys, args: string[]): Promise<number>;
  putWithin(keys: ClusterKeys, args: string[]): Promise<number>;
  heartbeat(keys: ClusterKeys, args: string[]): Promise<unknown>;
  register(keys: ClusterKeys, args: string[]): Promise<unknown>;
  snapshot(keys: ClusterKeys, args: string[]): Promise<unknown>;
  assign(keys: ClusterKeys, args: string[]): Promise<number>;
  slot(keys: ClusterKeys, args: string[]): Promise<[held: number, cv: number]>;
  bye(keys: ClusterKeys, args: string[]): Promise<number>;
}

/** Loads every script into `client` and returns callers bound to their SHA1s. */
export async function loadScripts(client: RedisClient): Promise<RedisScripts> {
  const sources = [PUT, PUT_WITHIN, HEARTBEAT, REGISTER, SNAPSHOT, ASSIGN, SLOT, BYE];
  const shas: string[] = await Promise.all(sources.map((source) => client.send("SCRIPT", ["LOAD", source])));
  const run =
    (sha: string, keysOf: (keys: ClusterKeys) => string[]) =>
    (keys: ClusterKeys, args: string[]): Promise<any> => {
      const names = keysOf(keys);
      return client.send("EVALSHA", [sha, String(names.length), ...names, ...args]);
    };
  const [put, putWithin, heartbeat, register, snapshot, assign, slot, bye] = shas as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  return {
    put: run(put, (k) => [k.open, k.load, k.changed]),
    putWithin: run(putWithin, (k) => [k.open, k.load, k.changed, k.gateways]),
    heartbeat: run(heartbeat, (k) => [k.presence, k.open, k.load, k.gateways, k.cv, k.epoch]),
    register: run(register, (k) => [k.presence, k.open, k.load, k.gateways, k.epoch, k.own, k.slots, k.cv]),
    snapshot: run(snapshot, (k) => [k.gateways, k.own, k.slots, k.changed, k.cv, k.epoch]),
    assign: run(assign, (k) => [k.own, k.cv]),
    slot: run(slot, (k) => [k.slots, k.cv]),
    bye: run(bye, (k) => [k.presence, k.open, k.load, k.gateways]),
  };
}
