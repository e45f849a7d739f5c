/**
 * Instance ids, formatted and parsed in one place: `shared`, `pool-<n>`, `auto-<n>`, `spare-<n>` and
 * `session-<16 hex of sha256(sessionId)>`. Every id is container-name safe and never carries a client's raw
 * session id. Parsing never slices strings elsewhere: a module asks for the index of the kind it cares about.
 */
import { createHash } from "node:crypto";

export const SHARED_INSTANCE_ID = "shared";

/** The kinds of numbered instances, by their id prefix. */
export type NumberedKind = "pool" | "auto" | "spare";

/** What an id names; undefined from parseInstanceId for anything the gateway never makes. */
export type ParsedInstanceId = { kind: "shared" } | { kind: NumberedKind; index: number } | { kind: "session"; digest: string };

/** Ids built once per kind and index: autoscale names many instances on every decision and listing. */
const built: Record<NumberedKind, string[]> = { pool: [], auto: [], spare: [] };

/** `<kind>-<index>`, the same string object on every call. */
export function numberedId(kind: NumberedKind, index: number): string {
  const ids = built[kind];
  for (let i = ids.length; i <= index; i++) ids.push(`${kind}-${i}`);
  return ids[index]!;
}

export const poolId = (index: number): string => numberedId("pool", index);
export const autoId = (index: number): string => numberedId("auto", index);
export const spareId = (index: number): string => numberedId("spare", index);

/** The pool's member ids, in index order. */
export function poolMemberIds(size: number): string[] {
  return Array.from({ length: size }, (_, i) => poolId(i));
}

/** The dedicated instance id of a session: a digest, never the id itself. */
export function sessionInstanceId(sessionId: string): string {
  return `session-${createHash("sha256").update(sessionId).digest("hex").slice(0, 16)}`;
}

const NUMBERED = /^(pool|auto|spare)-(0|[1-9]\d{0,8})$/;
const SESSION = /^session-([0-9a-f]{16})$/;

/** What `id` names, or undefined when it is no id the gateway makes. */
export function parseInstanceId(id: string): ParsedInstanceId | undefined {
  if (id === SHARED_INSTANCE_ID) return { kind: "shared" };
  const numbered = NUMBERED.exec(id);
  if (numbered) return { kind: numbered[1] as NumberedKind, index: Number(numbered[2]) };
  const session = SESSION.exec(id);
  return session ? { kind: "session", digest: session[1]! } : undefined;
}

/** The index of a `<kind>-<n>` id, or -1 when `id` is not one. O(length of id), allocates nothing on a miss. */
export function indexOf(kind: NumberedKind, id: string): number {
  if (!id.startsWith(kind) || id.charCodeAt(kind.length) !== 45 /* - */) return -1;
  const parsed = parseInstanceId(id);
  return parsed !== undefined && parsed.kind === kind ? parsed.index : -1;
}
