/**
 * Each instance is a pod (pod-spec.ts) created through the Kubernetes API. The pod's name is the same in every
 * gateway of the cluster, so a create answered 409 AlreadyExists means another gateway is starting it: this one
 * joins that pod. Readiness, endpoints and exits all come from the driver's one watch (watch.ts).
 */
import type { V1Pod } from "@kubernetes/client-node";
import { transcriberEnvOnly } from "../../transcriber/env.ts";
import type { ContainerDriver, ContainerEndpoint, ContainerInfo, ContainerSpec, ExitInfo, RunningContainer } from "../driver.ts";
import { type ContainerLimits, DEFAULT_LIMITS } from "../hardening.ts";
import { type RuntimeLogger, silentLogger } from "../logger.ts";
import type { KubeClient } from "./client.ts";
import { KubeApiError, WatchClosedError } from "./errors.ts";
import { gone, parseId, podId, uidOf } from "./pod-id.ts";
import { clusterSelector, instancePod, POD_GRACE_SECONDS } from "./pod-spec.ts";
import { createOrJoin, type PodStartContext, untilReady } from "./pod-start.ts";
import { containerInfo, podEnded, podEndpoint } from "./pod-state.ts";
import { PodWatch } from "./watch.ts";

/** How often a closed driver's remove() asks whether the pod is gone. */
const DELETE_POLL_MS = 200;

export interface KubernetesDriverOptions {
  client: KubeClient;
  /** GATEWAY_NAME: in pod names and LABEL_GATEWAY; list(), sweep() and the watch see only this cluster's pods. */
  gatewayName?: string;
  image: string;
  limits?: ContainerLimits;
  /** KUBE_TRANSCRIBER_SECRET: secrets reach pods as references to this Secret, not as values (pod-spec.ts). */
  secretName?: string;
  /** How long a pod has to become Ready (scheduling and an image pull included). */
  startupTimeoutMs?: number;
  /** How long stop() waits for a deleted pod to be gone before it returns (the deletion goes on regardless). */
  deleteWaitMs?: number;
  /** Seconds the server keeps one watch open before it is resumed. */
  watchTimeoutSeconds?: number;
  logger?: RuntimeLogger;
}

interface Handle extends RunningContainer {
  readonly name: string;
  readonly uid: string;
  stopRequested: boolean;
  /** The watch has shown this uid: from then on its absence means deleted (before, the watch may lag). */
  seen: boolean;
  settle(info: ExitInfo): void;
}

/** How long a handle may go unseen by the watch before the API is asked about its pod directly. */
const UNSEEN_CONFIRM_MS = 2_000;

export class KubernetesDriver implements ContainerDriver {
  readonly name = "kubernetes" as const;
  readonly gatewayName: string;
  readonly watch: PodWatch;
  private readonly client: KubeClient;
  private readonly image: string;
  private readonly limits: ContainerLimits;
  private readonly secretName: string | undefined;
  private readonly startupTimeoutMs: number;
  private readonly deleteWaitMs: number;
  private readonly logger: RuntimeLogger;
  private readonly handles = new Map<string, Handle>();
  /** Pod names this driver is creating and not yet tracking: sweep() leaves them. */
  private readonly creating = new Set<string>();
  /** Starts in flight: close() fails their wait and lets each delete the pod it created. */
  private readonly starts = new Set<Promise<unknown>>();
  private readonly startContext: PodStartContext;

  constructor(options: KubernetesDriverOptions) {
    this.client = options.client;
    this.gatewayName = options.gatewayName ?? "default";
    this.image = options.image;
    this.limits = options.limits ?? DEFAULT_LIMITS;
    this.secretName = options.secretName;
    this.startupTimeoutMs = options.startupTimeoutMs ?? 120_000;
    this.deleteWaitMs = options.deleteWaitMs ?? (POD_GRACE_SECONDS + 5) * 1000;
    this.logger = options.logger ?? silentLogger;
    this.watch = new PodWatch(this.client, clusterSelector(this.gatewayName), {
      watchTimeoutSeconds: options.watchTimeoutSeconds,
      onError: (error) => this.logger.warn({ error: String(error) }, "kubernetes pod watch failed; retrying"),
    });
    this.watch.onChange((_change, pod) => this.check(pod.metadata?.name ?? ""));
    this.startContext = {
      client: this.client,
      watch: this.watch,
      logger: this.logger,
      startupTimeoutMs: this.startupTimeoutMs,
      remove: (id) => this.remove(id),
    };
  }

  start(spec: ContainerSpec): Promise<RunningContainer> {
    const started = this.startPod(spec);
    const settled = started.catch(() => undefined);
    this.starts.add(settled);
    void settled.then(() => this.starts.delete(settled));
    return started;
  }

  private async startPod(spec: ContainerSpec): Promise<RunningContainer> {
    const pod = instancePod({
      gatewayName: this.gatewayName,
      instanceId: spec.instanceId,
      image: this.image,
      env: transcriberEnvOnly(spec.env), // the transcriber's own variables only, never a gateway secret
      labels: spec.labels,
      limits: this.limits,
      secretName: this.secretName,
    });
    const name = pod.metadata!.name!;
    this.creating.add(name);
    let uid = "";
    let ours = false;
    try {
      await this.watch.ensure();
      ({ uid, ours } = await createOrJoin(this.startContext, pod));
      const ready = await untilReady(this.startContext, name, uid);
      const handle = this.track(ready);
      this.creating.delete(name);
      return handle;
    } catch (error) {
      this.creating.delete(name);
      // A pod this start created is deleted; one joined belongs to the gateway that created it.
      if (ours && uid) await this.remove(podId(name, uid)).catch(() => undefined);
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(`kubernetes driver: instance ${spec.instanceId} (${this.image}) failed to start: ${message}`, { cause: error });
    }
  }

  /** A handle on a ready pod (at `endpoint`, default: the pod's own), watched for its end. */
  private track(pod: V1Pod, endpoint: ContainerEndpoint = podEndpoint(pod)!): Handle {
    const name = pod.metadata!.name!;
    const uid = uidOf(pod);
    const id = podId(name, uid);
    const known = this.handles.get(id);
    if (known) return known;
    let settle!: (info: ExitInfo) => void;
    const exited = new Promise<ExitInfo>((resolve) => (settle = resolve));
    const handle: Handle = { id, name, uid, host: endpoint.host, port: endpoint.port, stopRequested: false, seen: false, exited, settle };
    if (pod.spec?.nodeName) Object.assign(handle, { hostName: pod.spec.nodeName });
    this.handles.set(id, handle);
    void this.watch.ensure().catch(() => undefined); // an adopted pod's end is seen through the watch too
    this.check(name); // it may have ended between the event that made it ready and now
    if (!handle.seen) setTimeout(() => void this.confirm(handle), UNSEEN_CONFIRM_MS).unref();
    return handle;
  }

  /** A handle the watch has not shown yet (adopted from a fresher list): asks the API whether its pod is still there. */
  private async confirm(handle: Handle): Promise<void> {
    if (handle.seen || !this.handles.has(handle.id)) return;
    const pod = await this.client
      .getPod(handle.name)
      .catch((error) => (error instanceof KubeApiError && error.status === 404 ? null : undefined));
    if (pod === undefined || handle.seen || !this.handles.has(handle.id)) return; // no answer: the watch decides later
    if (pod !== null && uidOf(pod) === handle.uid && !podEnded(pod)) return;
    this.handles.delete(handle.id);
    const ended = pod !== null && uidOf(pod) === handle.uid ? podEnded(pod) : undefined;
    if (!handle.stopRequested) handle.settle(ended ?? gone(handle.name));
  }

  /** After any change of pod `name`: each handle on it whose pod is gone or over resolves exited. */
  private check(name: string): void {
    const current = this.watch.get(name);
    for (const handle of this.handles.values()) {
      if (handle.name !== name) continue;
      if (uidOf(current) === handle.uid) handle.seen = true;
      else if (!handle.seen) continue;
      const ended = uidOf(current) !== handle.uid ? gone(name) : podEnded(current!);
      if (!ended) continue;
      this.handles.delete(handle.id);
      if (handle.stopRequested) continue;
      handle.settle(ended);
      // A failed pod keeps its name until deleted; the instance's next start needs it.
      if (current && uidOf(current) === handle.uid && !current.metadata?.deletionTimestamp)
        void this.remove(handle.id).catch(() => undefined);
    }
  }

  async stop(container: RunningContainer): Promise<void> {
    const handle = this.handles.get(container.id);
    if (handle) handle.stopRequested = true;
    await this.remove(container.id);
    this.handles.delete(container.id);
  }

  /**
   * Deletes the pod gracefully (only that uid) and waits, bounded, until the watch sees it gone. Already gone
   * (404) or replaced by a newer pod (409: the uid precondition failed) is not an error.
   */
  async remove(id: string): Promise<void> {
    const { name, uid } = parseId(id);
    const handle = this.handles.get(id);
    if (handle) handle.stopRequested = true;
    try {
      await this.client.deletePod(name, { uid });
    } catch (error) {
      if (!(error instanceof KubeApiError && (error.status === 404 || error.status === 409))) throw error;
    }
    const goneNow = (pod: V1Pod | undefined) => (uidOf(pod) !== uid ? true : undefined);
    const timeout = () => new Error(`pod ${name} still terminating after ${this.deleteWaitMs} ms`);
    // A closed driver is not watching: a remove then (a stop after close()) asks the API instead of reopening it.
    const waited = this.watch.running
      ? this.watch.ensure().then(() => this.watch.until(name, goneNow, this.deleteWaitMs, timeout))
      : this.pollGone(name, uid, timeout);
    await waited.catch((error) => {
      if (!(error instanceof WatchClosedError))
        this.logger.warn({ pod: name, error: String(error) }, "pod deletion not finished; it goes on in the cluster");
    });
  }

  /** Asks the API until the pod of that uid is gone, bounded by deleteWaitMs. */
  private async pollGone(name: string, uid: string, timeout: () => Error): Promise<void> {
    const deadline = Date.now() + this.deleteWaitMs;
    while (Date.now() < deadline) {
      const pod = await this.client
        .getPod(name)
        .catch((error) => (error instanceof KubeApiError && error.status === 404 ? null : undefined));
      if (pod === null || (pod && uidOf(pod) !== uid)) return;
      await Bun.sleep(DELETE_POLL_MS);
    }
    throw timeout();
  }

  /** A consistent list from the API server (not the watch's cache, which may lag a peer's latest start). */
  async list(): Promise<ContainerInfo[]> {
    const pods = await this.client.listPods({ labelSelector: this.watch.labelSelector });
    return pods.items.map(containerInfo);
  }

  /** A handle on a pod another gateway started: the watch resolves its exited like one of this driver's own. */
  adopt(info: ContainerInfo): RunningContainer {
    const known = this.handles.get(info.id);
    if (known) return known;
    if (!info.endpoint) throw new Error(`kubernetes driver: pod ${info.id} (${info.instanceId}) has no endpoint to adopt`);
    const { name, uid } = parseId(info.id);
    const pod: V1Pod = { metadata: { name, uid }, spec: { containers: [], nodeName: info.hostName } };
    return this.track(pod, info.endpoint);
  }

  /** Deletes this cluster's pods that no start of this driver made (what a previous run left behind). */
  async sweep(): Promise<number> {
    const pods = await this.client.listPods({ labelSelector: this.watch.labelSelector });
    const own = new Set([...this.handles.values()].map((handle) => handle.name));
    const leftovers = pods.items.filter((pod) => !own.has(pod.metadata!.name!) && !this.creating.has(pod.metadata!.name!));
    await Promise.all(leftovers.map((pod) => this.remove(podId(pod.metadata!.name!, uidOf(pod)))));
    return leftovers.length;
  }

  async close(): Promise<void> {
    // The watch first: starts waiting on it fail at once and delete what they created (asking the API, as
    // remove() does without a watch), and no event of a pod being removed here reads as a crash.
    this.watch.close();
    const ids = [...this.handles.keys()];
    await Promise.all([...ids.map((id) => this.remove(id).catch(() => undefined)), ...this.starts]);
    this.handles.clear();
  }

  /** Where it creates pods: the API server, the namespace and where the credentials came from. */
  describe(): string {
    return `namespace ${this.client.namespace} at ${this.client.credentials.server} (${this.client.credentials.source})`;
  }

  async engineProblem(): Promise<string | undefined> {
    try {
      await this.client.version(1_000);
      return undefined;
    } catch (error) {
      return `Kubernetes API not answering at ${this.client.credentials.server}: ${error instanceof Error ? error.message : String(error)}`;
    }
  }
}
