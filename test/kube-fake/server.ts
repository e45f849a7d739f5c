/**
 * The fake's HTTPS front: the routes of the Kubernetes API the driver uses (pods create/get/delete/list/watch,
 * /version), bearer-token and client-certificate authentication, a per-identity verb list for 403s, and Status
 * bodies for every error. Requests are recorded so tests can see who asked what.
 */
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { TLSSocket } from "node:tls";
import type { V1DeleteOptions, V1Pod, V1Status } from "@kubernetes/client-node";
import type { FakeCertificates } from "./certs.ts";
import type { FakeKubelet } from "./kubelet.ts";
import * as S from "./status.ts";
import { matchesSelector, type PodStore } from "./store.ts";

export type Verb = "get" | "list" | "watch" | "create" | "delete";
export const ALL_VERBS: readonly Verb[] = ["get", "list", "watch", "create", "delete"];

/** Who a credential is and what it may do. */
export interface Identity {
  user: string;
  verbs: readonly Verb[];
}

/** The user a verified client certificate authenticates as (its CN). */
export const CLIENT_CERT_USER = "kube-fake-user";

export interface RecordedRequest {
  method: string;
  path: string;
  user: string | undefined;
  via: "token" | "client-cert" | "none";
  /** A create's body, as sent. */
  body?: unknown;
}

export interface ServerParts {
  certs: FakeCertificates;
  store: PodStore;
  kubelet: FakeKubelet;
  tokens: Map<string, Identity>;
  requests: RecordedRequest[];
  bookmarkIntervalMs: number;
  /** Resolves when watch requests may be answered (tests hold them to control what a resume misses). */
  watchGate(): Promise<void>;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function send(response: ServerResponse, code: number, body: unknown): void {
  response.writeHead(code, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}

async function readJson(request: IncomingMessage): Promise<any> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text === "" ? {} : JSON.parse(text);
}

export function createApiServer(parts: ServerParts): { server: Server; dropWatches(): void } {
  const openWatches = new Set<ServerResponse>();
  const { store, kubelet } = parts;

  function authenticate(request: IncomingMessage): { identity?: Identity; via: RecordedRequest["via"] } {
    const header = request.headers.authorization;
    if (header?.startsWith("Bearer ")) return { identity: parts.tokens.get(header.slice(7)), via: "token" };
    if ((request.socket as TLSSocket).authorized) return { identity: { user: CLIENT_CERT_USER, verbs: ALL_VERBS }, via: "client-cert" };
    return { via: "none" };
  }

  function create(namespace: string, body: V1Pod): [number, V1Pod | V1Status] {
    const name = body.metadata?.name ?? "";
    if (body.kind !== "Pod" || !body.spec?.containers?.length) return [422, S.invalid(name, "spec.containers: Required value")];
    if (!DNS_SUBDOMAIN.test(name) || name.length > 253) return [422, S.invalid(name, `metadata.name: Invalid value: "${name}"`)];
    if (store.get(namespace, name)) return [409, S.alreadyExists(name)];
    const pod: V1Pod = structuredClone(body);
    pod.metadata = { ...pod.metadata, namespace, uid: crypto.randomUUID(), creationTimestamp: new Date() };
    pod.status = { phase: "Pending", qosClass: "Guaranteed", conditions: [] };
    const stored = store.write("ADDED", pod);
    void kubelet.admit(stored);
    return [201, stored];
  }

  function remove(namespace: string, name: string, options: V1DeleteOptions): [number, V1Pod | V1Status] {
    const pod = store.get(namespace, name);
    if (!pod) return [404, S.notFound(name)];
    const wanted = options.preconditions?.uid;
    if (wanted && wanted !== pod.metadata!.uid) return [409, S.uidConflict(name, wanted, pod.metadata!.uid!)];
    if (pod.metadata!.deletionTimestamp) return [200, pod];
    if (pod.status?.phase === "Failed" || pod.status?.phase === "Succeeded") {
      void kubelet.shutDown(pod);
      return [200, store.write("DELETED", pod)];
    }
    // Graceful: Terminating first (deletionTimestamp), the container gets SIGTERM, the object goes when it exited.
    pod.metadata!.deletionTimestamp = new Date();
    pod.metadata!.deletionGracePeriodSeconds = options.gracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    const terminating = store.write("MODIFIED", pod);
    void kubelet.shutDown(terminating).then(() => {
      const current = store.get(namespace, name);
      if (current && current.metadata!.uid === terminating.metadata!.uid) store.write("DELETED", current);
    });
    return [200, terminating];
  }

  async function watch(response: ServerResponse, namespace: string, query: URLSearchParams): Promise<void> {
    await parts.watchGate();
    const selector = query.get("labelSelector");
    const fromVersion = Number(query.get("resourceVersion") || "0");
    response.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    const line = (type: string, object: unknown) => response.write(`${JSON.stringify({ type, object })}\n`);
    const past = store.since(fromVersion);
    if (past === "gone") {
      // As the API server does: 200, then one ERROR event carrying the 410 Status.
      line("ERROR", S.expired(fromVersion, store.currentVersion));
      return void response.end();
    }
    const matches = (pod: V1Pod) => pod.metadata?.namespace === namespace && matchesSelector(pod.metadata?.labels, selector);
    for (const event of past) if (matches(event.pod)) line(event.type, event.pod);
    const unsubscribe = store.subscribe((event) => {
      if (matches(event.pod)) line(event.type, event.pod);
    });
    const bookmarks =
      query.get("allowWatchBookmarks") === "true"
        ? setInterval(
            () => line("BOOKMARK", { kind: "Pod", apiVersion: "v1", metadata: { resourceVersion: store.currentVersion } }),
            parts.bookmarkIntervalMs,
          )
        : undefined;
    const timeoutSeconds = Number(query.get("timeoutSeconds") || "1800");
    const timeout = setTimeout(() => response.end(), timeoutSeconds * 1000);
    openWatches.add(response);
    response.on("close", () => {
      openWatches.delete(response);
      unsubscribe();
      clearInterval(bookmarks);
      clearTimeout(timeout);
    });
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "https://fake");
    const { identity, via } = authenticate(request);
    parts.requests.push({ method: request.method ?? "", path: `${url.pathname}${url.search}`, user: identity?.user, via });
    if (url.pathname === "/version") return send(response, 200, { major: "1", minor: "31", gitVersion: "v1.31.0-kube-fake" });
    if (!identity) return send(response, 401, S.unauthorized());
    const match = /^\/api\/v1\/namespaces\/([^/]+)\/pods(?:\/([^/]+))?$/.exec(url.pathname);
    if (!match) return send(response, 404, S.status(404, "NotFound", "the server could not find the requested resource"));
    const namespace = decodeURIComponent(match[1]!);
    const name = match[2] === undefined ? undefined : decodeURIComponent(match[2]);
    const isWatch = ["1", "true"].includes(url.searchParams.get("watch") ?? "");
    const verb: Verb | undefined =
      request.method === "POST" && !name
        ? "create"
        : request.method === "DELETE" && name
          ? "delete"
          : request.method === "GET"
            ? name
              ? "get"
              : isWatch
                ? "watch"
                : "list"
            : undefined;
    if (!verb)
      return send(response, 405, S.status(405, "MethodNotAllowed", `the server does not allow this method on the requested resource`));
    if (!identity.verbs.includes(verb)) return send(response, 403, S.forbidden(identity.user, verb, namespace, name));
    if (verb === "create") {
      const body = await readJson(request);
      parts.requests.at(-1)!.body = body;
      return send(response, ...create(namespace, body));
    }
    if (verb === "delete") return send(response, ...remove(namespace, name!, await readJson(request)));
    if (verb === "get") {
      const pod = store.get(namespace, name!);
      return pod ? send(response, 200, pod) : send(response, 404, S.notFound(name!));
    }
    if (verb === "watch") return watch(response, namespace, url.searchParams);
    const items = store.list(namespace, url.searchParams.get("labelSelector"));
    send(response, 200, { kind: "PodList", apiVersion: "v1", metadata: { resourceVersion: store.currentVersion }, items });
  }

  const server = createServer(
    {
      cert: readFileSync(parts.certs.serverCertFile),
      key: readFileSync(parts.certs.serverKeyFile),
      ca: parts.certs.ca,
      // Client certificates are asked for and checked against the CA; a request without one may use a token.
      requestCert: true,
      rejectUnauthorized: false,
    },
    (request, response) => {
      handle(request, response).catch((error) => send(response, 500, S.status(500, "InternalError", String(error))));
    },
  );
  return {
    server,
    dropWatches: () => {
      for (const response of openWatches) response.destroy();
    },
  };
}
