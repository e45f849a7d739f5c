/**
 * The driver's one view of its cluster's pods: list once, then a single label-selected watch resumed from the
 * last resourceVersion it saw (bookmarks included) whenever the stream ends, and a fresh list when the server
 * says that version is gone (410). Listeners hear every change; starts, stops and exits all read from here.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { KubeClient } from "./client.ts";
import { KubeApiError, WatchClosedError } from "./errors.ts";

export type PodChange = "ADDED" | "MODIFIED" | "DELETED";
export type PodListener = (change: PodChange, pod: V1Pod) => void;

/** Pause after a failed list or watch before the next attempt, doubling up to the cap. */
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5_000;

export interface PodWatchOptions {
  /** Seconds the server keeps one watch open before the client resumes it (the API's timeoutSeconds). */
  watchTimeoutSeconds?: number;
  /** Told about a failed list or watch that will be retried. */
  onError?: (error: unknown) => void;
}

export class PodWatch {
  private readonly pods = new Map<string, V1Pod>();
  private readonly listeners = new Set<PodListener>();
  private resourceVersion: string | undefined;
  private abort: AbortController | undefined;
  private synced: Promise<void> | undefined;
  /** Pending until() calls: close() rejects them, so nothing waits on a watch that no longer runs. */
  private readonly waiters = new Set<(error: Error) => void>();
  /** Lists made (the first, and one per 410). */
  relists = 0;
  /** Watch requests opened (the first after each list, and one per resume). */
  watchesOpened = 0;

  constructor(
    private readonly client: KubeClient,
    readonly labelSelector: string,
    private readonly options: PodWatchOptions = {},
  ) {}

  /**
   * Resolves once the cache holds a full list and the watch runs. A failed first list rejects (401, 403, no
   * API server: the caller's start fails with that reason) and the next call tries again.
   */
  ensure(): Promise<void> {
    if (this.synced) return this.synced;
    const abort = new AbortController();
    this.abort = abort;
    this.synced = this.list().then(
      () => void this.run(abort.signal),
      (error) => {
        this.synced = undefined;
        throw error;
      },
    );
    return this.synced;
  }

  get(name: string): V1Pod | undefined {
    return this.pods.get(name);
  }

  all(): V1Pod[] {
    return [...this.pods.values()];
  }

  /** Calls `listener` on every change; returns the function that stops it. */
  onChange(listener: PodListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves with the first pod state (or deletion, as undefined) `accept` takes, or rejects after `timeoutMs`. */
  until<T>(name: string, accept: (pod: V1Pod | undefined) => T | undefined, timeoutMs: number, timeoutError: () => Error): Promise<T> {
    if (!this.running) return Promise.reject(new WatchClosedError());
    const now = accept(this.pods.get(name));
    if (now !== undefined) return Promise.resolve(now);
    return new Promise<T>((resolve, reject) => {
      const finish = (error?: Error, result?: T) => {
        clearTimeout(timer);
        unsubscribe();
        this.waiters.delete(fail);
        if (error) reject(error);
        else resolve(result!);
      };
      const fail = (error: Error) => finish(error);
      const timer = setTimeout(() => finish(timeoutError()), timeoutMs);
      const unsubscribe = this.onChange((change, pod) => {
        if (pod.metadata?.name !== name) return;
        const result = accept(change === "DELETED" ? undefined : pod);
        if (result !== undefined) finish(undefined, result);
      });
      this.waiters.add(fail);
    });
  }

  /** Whether ensure() has started a watch that close() has not ended. */
  get running(): boolean {
    return this.synced !== undefined;
  }

  /** Ends the watch; ensure() starts a fresh one. */
  close(): void {
    this.abort?.abort();
    this.abort = undefined;
    this.synced = undefined;
    for (const fail of [...this.waiters]) fail(new WatchClosedError());
  }

  private async list(): Promise<void> {
    const list = await this.client.listPods({ labelSelector: this.labelSelector });
    this.relists++;
    const seen = new Set<string>();
    for (const pod of list.items) {
      const name = pod.metadata?.name ?? "";
      seen.add(name);
      const before = this.pods.get(name);
      this.pods.set(name, pod);
      if (before?.metadata?.resourceVersion !== pod.metadata?.resourceVersion) this.emit(before ? "MODIFIED" : "ADDED", pod);
    }
    for (const [name, pod] of this.pods) {
      if (seen.has(name)) continue;
      this.pods.delete(name);
      this.emit("DELETED", pod);
    }
    this.resourceVersion = list.metadata?.resourceVersion;
  }

  private async run(signal: AbortSignal): Promise<void> {
    let retryMs = RETRY_MIN_MS;
    while (!signal.aborted) {
      try {
        if (this.resourceVersion === undefined) await this.list();
        this.watchesOpened++;
        const events = this.client.watchPods({
          labelSelector: this.labelSelector,
          resourceVersion: this.resourceVersion!,
          timeoutSeconds: this.options.watchTimeoutSeconds,
          signal,
        });
        for await (const event of events) {
          const version = event.object.metadata?.resourceVersion;
          if (version) this.resourceVersion = version;
          if (event.type === "BOOKMARK" || event.type === "ERROR") continue;
          const pod = event.object as V1Pod;
          const name = pod.metadata?.name ?? "";
          if (event.type === "DELETED") this.pods.delete(name);
          else this.pods.set(name, pod);
          this.emit(event.type, pod);
        }
        retryMs = RETRY_MIN_MS; // a stream that ended normally (its timeout): resume at once
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof KubeApiError && error.status === 410) {
          this.resourceVersion = undefined; // too old: only a fresh list can catch up
          continue;
        }
        this.options.onError?.(error);
        await Bun.sleep(retryMs);
        retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
      }
    }
  }

  private emit(change: PodChange, pod: V1Pod): void {
    for (const listener of this.listeners) listener(change, pod);
  }
}
