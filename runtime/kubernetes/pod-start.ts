/**
 * Bringing one pod up: create it, or join the live pod another gateway created under the same name (409
 * AlreadyExists), then wait on the driver's watch until it is Ready, ends, or cannot start.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { RuntimeLogger } from "../logger.ts";
import type { KubeClient } from "./client.ts";
import { KubeApiError, PodStartError } from "./errors.ts";
import { gone, podId, uidOf } from "./pod-id.ts";
import { podEnded, podReady, podStuck } from "./pod-state.ts";
import type { PodWatch } from "./watch.ts";

export interface PodStartContext {
  client: KubeClient;
  watch: PodWatch;
  logger: RuntimeLogger;
  startupTimeoutMs: number;
  /** Deletes a pod by id and waits until it is gone (the driver's remove()). */
  remove(id: string): Promise<void>;
}

/** Creates attempted for one start: a leftover finished pod under the name is deleted, then created again. */
const CREATE_ATTEMPTS = 3;

/** Creates the pod, or joins the live one under its name; a finished one is deleted and created again. */
export async function createOrJoin(context: PodStartContext, pod: V1Pod): Promise<{ uid: string; ours: boolean }> {
  const name = pod.metadata!.name!;
  for (let attempt = 1; ; attempt++) {
    try {
      return { uid: uidOf(await context.client.createPod(pod)), ours: true };
    } catch (error) {
      if (!(error instanceof KubeApiError && error.status === 409) || attempt === CREATE_ATTEMPTS) throw error;
    }
    const existing = await context.client.getPod(name).catch((error) => {
      if (error instanceof KubeApiError && error.status === 404) return undefined; // gone meanwhile: create again
      throw error;
    });
    if (!existing) continue;
    if (!podEnded(existing)) {
      context.logger.info({ pod: name }, "pod already exists: joining the start another gateway made");
      return { uid: uidOf(existing), ours: false };
    }
    await context.remove(podId(name, uidOf(existing)));
  }
}

/** Resolves with the pod once Ready; rejects with PodStartError when it ends, cannot start, or times out. */
export async function untilReady(context: PodStartContext, name: string, uid: string): Promise<V1Pod> {
  // The watch may not have seen the create yet: another uid (or none) means deleted only once ours was seen.
  let seen = false;
  const outcome = await context.watch.until(
    name,
    (current) => {
      if (uidOf(current) === uid) seen = true;
      else return seen ? { ended: gone(name) } : undefined;
      const ended = podEnded(current!) ?? podStuck(current!);
      if (ended) return { ended };
      return podReady(current!) ? { pod: current! } : undefined;
    },
    context.startupTimeoutMs,
    () => new PodStartError(name, `not Ready after ${context.startupTimeoutMs} ms (${describeWait(context.watch.get(name))})`),
  );
  if ("ended" in outcome) throw new PodStartError(name, `ended before it was Ready: ${outcome.ended!.reason}`);
  return outcome.pod!;
}

/** The pod's phase and its last condition message, for a start that timed out. */
function describeWait(pod: V1Pod | undefined): string {
  if (!pod) return "no such pod";
  const waiting = pod.status?.conditions?.find((condition) => condition.status !== "True" && condition.message);
  return `phase ${pod.status?.phase ?? "unknown"}${waiting ? `, ${waiting.type}: ${waiting.message}` : ""}`;
}
