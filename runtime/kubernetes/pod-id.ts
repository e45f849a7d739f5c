/** A pod handle's id, `<name>/<uid>`: a remove() by id can never delete a newer pod under the same name. */
import type { V1Pod } from "@kubernetes/client-node";
import type { ExitInfo } from "../driver.ts";

export function podId(name: string, uid: string): string {
  return `${name}/${uid}`;
}

export function parseId(id: string): { name: string; uid: string } {
  const slash = id.indexOf("/");
  if (slash <= 0) throw new Error(`kubernetes driver: '${id}' is not a pod id (name/uid)`);
  return { name: id.slice(0, slash), uid: id.slice(slash + 1) };
}

export const uidOf = (pod: V1Pod | undefined): string => pod?.metadata?.uid ?? "";

/** The end of a pod that is no longer there (or is another incarnation now). */
export const gone = (name: string): ExitInfo => ({ exitCode: null, reason: `pod ${name} was deleted` });
