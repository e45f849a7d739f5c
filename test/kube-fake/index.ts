/**
 * A FAKE of the Kubernetes API, not Kubernetes: the subset the Kubernetes driver uses (pods create, get,
 * delete, list, watch; /version), served over HTTPS with a private CA made per run, bearer tokens and client
 * certificates, behaving as the API reference describes for that subset (201/409 AlreadyExists, graceful
 * delete with uid preconditions, list and watch by label selector and resourceVersion, bookmarks, 410 Expired
 * after compaction, 401/403 Status bodies). Pods are run by a one-node fake kubelet (kubelet.ts) as local
 * transcriber processes, so their /health is real. No Kubernetes API server runs on these machines: this is
 * what the driver is tested against, and the README says so.
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import type { V1Pod } from "@kubernetes/client-node";
import { type FakeCertificates, makeCertificates } from "./certs.ts";
import { FakeKubelet } from "./kubelet.ts";
import { ALL_VERBS, createApiServer, type Identity, type RecordedRequest } from "./server.ts";
import { PodStore } from "./store.ts";

export { CLIENT_CERT_USER } from "./server.ts";

export interface KubeFakeOptions {
  /** The namespace tests use (any namespace works; this one goes into the kubeconfigs written). */
  namespace?: string;
  /** Interval of BOOKMARK events on watches that allow them. */
  bookmarkIntervalMs?: number;
  /** How long a created pod waits to be scheduled (a slow scheduler, or a pod that should stay Pending a while). */
  scheduleDelayMs?: number;
}

export interface KubeFake {
  /** `https://127.0.0.1:PORT` */
  url: string;
  namespace: string;
  certs: FakeCertificates;
  /** A token with every pod verb. */
  token: string;
  /** Accepted bearer tokens and what each may do: tests add, remove and restrict them. */
  tokens: Map<string, Identity>;
  store: PodStore;
  kubelet: FakeKubelet;
  /** Secrets the fake kubelet resolves secretKeyRef from (name -> key -> value). */
  secrets: Map<string, Record<string, string>>;
  requests: RecordedRequest[];
  pod(name: string): V1Pod | undefined;
  /** Kills the pod's transcriber process from outside: the pod goes Failed (exit 137). */
  kill(name: string): void;
  /** Kubelet eviction under node pressure: Failed, reason Evicted. */
  evict(name: string): Promise<void>;
  /** The pod's node stops answering: Ready False, reason NodeLost; its transcriber keeps running until the pod is deleted. */
  loseNode(name: string): void;
  /** Compacts the change history: a watch resuming from an older version gets 410 Expired. */
  compact(): void;
  /** Breaks every open watch connection, as an API server restart or a load balancer would. */
  dropWatches(): void;
  /** Holds new watch requests unanswered until the returned function is called (what a resume then misses is up to the test). */
  holdWatches(): () => void;
  /** Writes a kubeconfig for this fake: a token (inline or as a file), or the client certificate (inline or by path). */
  writeKubeconfig(form: "token" | "token-file" | "client-cert-data" | "client-cert-files", token?: string): string;
  close(): Promise<void>;
}

export async function startKubeFake(options: KubeFakeOptions = {}): Promise<KubeFake> {
  const namespace = options.namespace ?? "transcribe-edge";
  const certs = makeCertificates();
  const store = new PodStore();
  const kubelet = new FakeKubelet(store, options.scheduleDelayMs);
  const token = `fake-token-${crypto.randomUUID()}`;
  const tokens = new Map<string, Identity>([[token, { user: `system:serviceaccount:${namespace}:transcribe-edge`, verbs: ALL_VERBS }]]);
  const requests: RecordedRequest[] = [];
  let gate: Promise<void> = Promise.resolve();
  const { server, dropWatches } = createApiServer({
    certs,
    store,
    kubelet,
    tokens,
    requests,
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? 1_000,
    watchGate: () => gate,
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let written = 0;

  const podOrThrow = (name: string) => {
    const pod = store.get(namespace, name);
    if (!pod) throw new Error(`kube fake: no pod ${name} in ${namespace}`);
    return pod;
  };

  return {
    url,
    namespace,
    certs,
    token,
    tokens,
    store,
    kubelet,
    secrets: kubelet.secrets,
    requests,
    pod: (name) => store.get(namespace, name),
    kill: (name) => kubelet.kill(podOrThrow(name)),
    evict: (name) => kubelet.evict(podOrThrow(name)),
    loseNode: (name) => kubelet.loseNode(podOrThrow(name)),
    compact: () => store.compact(),
    dropWatches,
    holdWatches() {
      let release!: () => void;
      gate = new Promise<void>((resolve) => (release = resolve));
      return () => {
        gate = Promise.resolve();
        release();
      };
    },
    writeKubeconfig(form, tokenValue = token) {
      const b64 = (text: string) => Buffer.from(text).toString("base64");
      const user: Record<string, string> = {};
      if (form === "token") user.token = tokenValue;
      if (form === "token-file") {
        writeFileSync(join(certs.dir, "token"), tokenValue);
        user.tokenFile = "token"; // relative: resolved against the kubeconfig's directory
      }
      if (form === "client-cert-data")
        Object.assign(user, { "client-certificate-data": b64(certs.clientCert), "client-key-data": b64(certs.clientKey) });
      if (form === "client-cert-files") Object.assign(user, { "client-certificate": certs.clientCertFile, "client-key": "client.key" });
      const config = {
        apiVersion: "v1",
        kind: "Config",
        "current-context": "fake",
        clusters: [{ name: "fake", cluster: { server: url, "certificate-authority-data": b64(certs.ca) } }],
        users: [{ name: "fake-user", user }],
        contexts: [{ name: "fake", context: { cluster: "fake", user: "fake-user", namespace } }],
      };
      const path = join(certs.dir, `kubeconfig-${++written}-${form}.yaml`);
      writeFileSync(path, Bun.YAML.stringify(config, null, 2));
      return path;
    },
    async close() {
      dropWatches();
      await kubelet.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections(); // idle keep-alive connections would otherwise hold close() open
      await closed;
      rmSync(certs.dir, { recursive: true, force: true });
    },
  };
}
