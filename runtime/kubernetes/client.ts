/**
 * A small client for the part of the Kubernetes API the driver uses (pods: create, get, delete, list, watch),
 * over Bun's fetch with the cluster's CA and client certificate passed as `tls` options. The library's model
 * types describe the bodies; the library itself is not loaded at run time.
 */
import type { V1DeleteOptions, V1Pod, V1PodList, V1Status } from "@kubernetes/client-node";
import type { KubeCredentials } from "./credentials.ts";
import { KubeApiError, KubeUnreachableError } from "./errors.ts";
import { type WatchEvent, watchLines } from "./watch-stream.ts";

/** Bound on every call but a watch: a hung API server must not hold a start or a stop forever. */
const REQUEST_TIMEOUT_MS = 10_000;

export interface ListOptions {
  labelSelector: string;
  /** `0`: any version the server has cached; unset: a consistent read. */
  resourceVersion?: string;
}

export interface WatchOptions extends ListOptions {
  /** Where to resume; events after it are sent. */
  resourceVersion: string;
  /** Ends the watch (the stream closes). */
  signal: AbortSignal;
  /** The server closes the watch after this long; the caller resumes it. */
  timeoutSeconds?: number;
}

/** The pods of one namespace, through one set of credentials. */
export class KubeClient {
  constructor(
    readonly credentials: KubeCredentials,
    readonly namespace: string,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  private podsPath(name?: string): string {
    const base = `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/pods`;
    return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
  }

  /**
   * One request; a 401 is retried once with the token read afresh (a rotated service-account token whose file
   * changed within the file system's timestamp granularity). Non-2xx answers become KubeApiError.
   */
  private async call(operation: string, method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const token = this.credentials.token(attempt > 0);
      const headers: Record<string, string> = { accept: "application/json" };
      if (token) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) headers["content-type"] = "application/json";
      let response: Response;
      try {
        response = await this.fetchImpl(`${this.credentials.server}${path}`, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS),
          tls: this.credentials.tls,
        } as RequestInit);
      } catch (error) {
        if (signal?.aborted) throw error;
        throw new KubeUnreachableError(this.credentials.server, operation, error);
      }
      if (response.ok) return response;
      if (response.status === 401 && attempt === 0 && token) {
        await response.arrayBuffer();
        continue;
      }
      throw await apiError(response, operation);
    }
  }

  private async json<T>(operation: string, method: string, path: string, body?: unknown): Promise<T> {
    return (await (await this.call(operation, method, path, body)).json()) as T;
  }

  /** POST a pod; 409 AlreadyExists when the name is taken. */
  createPod(pod: V1Pod): Promise<V1Pod> {
    return this.json(`create pod ${pod.metadata?.name}`, "POST", this.podsPath(), pod);
  }

  getPod(name: string): Promise<V1Pod> {
    return this.json(`get pod ${name}`, "GET", this.podsPath(name));
  }

  /**
   * Deletes gracefully (the pod goes Terminating, its containers get SIGTERM and `gracePeriodSeconds`). With
   * `uid`, only that incarnation: a newer pod under the same name answers 409 and stays.
   */
  deletePod(name: string, options: { uid?: string; gracePeriodSeconds?: number } = {}): Promise<V1Pod | V1Status> {
    const body: V1DeleteOptions = { apiVersion: "v1", kind: "DeleteOptions" };
    if (options.uid) body.preconditions = { uid: options.uid };
    if (options.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = options.gracePeriodSeconds;
    return this.json(`delete pod ${name}`, "DELETE", this.podsPath(name), body);
  }

  listPods(options: ListOptions): Promise<V1PodList> {
    const query = new URLSearchParams({ labelSelector: options.labelSelector });
    if (options.resourceVersion !== undefined) query.set("resourceVersion", options.resourceVersion);
    return this.json(`list pods ${options.labelSelector}`, "GET", `${this.podsPath()}?${query}`);
  }

  /**
   * Watches pods from `resourceVersion`: yields ADDED/MODIFIED/DELETED/BOOKMARK until the server ends the
   * stream or `signal` aborts. An ERROR event (410 Expired: the version is too old) is thrown as KubeApiError.
   */
  async *watchPods(options: WatchOptions): AsyncGenerator<WatchEvent> {
    const query = new URLSearchParams({
      watch: "1",
      labelSelector: options.labelSelector,
      resourceVersion: options.resourceVersion,
      allowWatchBookmarks: "true",
      timeoutSeconds: String(options.timeoutSeconds ?? 300),
    });
    const operation = `watch pods ${options.labelSelector}`;
    const response = await this.call(operation, "GET", `${this.podsPath()}?${query}`, undefined, options.signal);
    for await (const event of watchLines(response, options.signal)) {
      if (event.type === "ERROR") {
        const status = event.object as V1Status;
        throw new KubeApiError(status.code ?? 500, status.reason ?? "Unknown", status.message ?? "watch error", operation);
      }
      yield event;
    }
  }

  /** GET /version: whether the API server answers (any authenticated or anonymous caller may read it). */
  async version(timeoutMs: number): Promise<string> {
    const response = await this.fetchImpl(`${this.credentials.server}/version`, {
      signal: AbortSignal.timeout(timeoutMs),
      tls: this.credentials.tls,
    } as RequestInit);
    const body = (await response.json().catch(() => ({}))) as { gitVersion?: string };
    if (!response.ok && response.status !== 401 && response.status !== 403) throw new Error(`HTTP ${response.status}`);
    return body.gitVersion ?? `HTTP ${response.status}`;
  }
}

/** The API's Status body (or whatever came instead) as a KubeApiError. */
async function apiError(response: Response, operation: string): Promise<KubeApiError> {
  const raw = await response.text();
  let status: V1Status | undefined;
  try {
    status = JSON.parse(raw) as V1Status;
  } catch {}
  if (status?.kind === "Status") {
    return new KubeApiError(response.status, status.reason ?? "Unknown", status.message ?? raw, operation);
  }
  return new KubeApiError(response.status, "Unknown", raw.slice(0, 200) || response.statusText, operation);
}
