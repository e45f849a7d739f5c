/** KUBECONFIG and in-cluster credentials, used for real against the API fake (its TLS checks the client certificate). */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeCertificates } from "../../test/kube-fake/certs.ts";
import { CLIENT_CERT_USER, type KubeFake, startKubeFake } from "../../test/kube-fake/index.ts";
import { KubeClient } from "./client.ts";
import { inClusterCredentials, loadCredentials } from "./credentials.ts";
import { KubeApiError, KubeCredentialsError } from "./errors.ts";
import { kubeconfigCredentials } from "./kubeconfig.ts";

let fake: KubeFake;
const tempDirs: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
};
beforeAll(async () => {
  fake = await startKubeFake();
});
afterAll(async () => {
  await fake.close();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

const selector = "io.transcribe-edge.managed=true";

/** Lists pods with `client` and says how the fake authenticated that request. */
async function listedAs(client: KubeClient): Promise<{ via: string; user: string | undefined }> {
  await client.listPods({ labelSelector: selector });
  const last = fake.requests.at(-1)!;
  return { via: last.via, user: last.user };
}

describe("KUBECONFIG", () => {
  test("token, inline: the current context's server, CA and namespace; the token is the credential", async () => {
    const credentials = kubeconfigCredentials(fake.writeKubeconfig("token"));
    expect(credentials).toMatchObject({ server: fake.url, namespace: fake.namespace });
    expect(credentials.source).toContain("(context fake)");
    expect(await listedAs(new KubeClient(credentials, fake.namespace))).toMatchObject({ via: "token" });
  });

  test("client certificate inline (-data) and by file paths (one relative): the fake's TLS verified it against its CA", async () => {
    for (const form of ["client-cert-data", "client-cert-files"] as const) {
      const client = new KubeClient(kubeconfigCredentials(fake.writeKubeconfig(form)), fake.namespace);
      expect(await listedAs(client)).toEqual({ via: "client-cert", user: CLIENT_CERT_USER });
    }
  });

  test("a client certificate from another CA is not accepted: 401 from the API", async () => {
    const stranger = makeCertificates();
    const credentials = kubeconfigCredentials(fake.writeKubeconfig("client-cert-data"));
    credentials.tls = { ...credentials.tls, cert: stranger.clientCert, key: stranger.clientKey };
    const error = await new KubeClient(credentials, fake.namespace).listPods({ labelSelector: selector }).catch((e) => e);
    rmSync(stranger.dir, { recursive: true, force: true });
    expect(error).toBeInstanceOf(KubeApiError);
    expect((error as KubeApiError).status).toBe(401);
  });

  test("without the cluster's CA the TLS handshake fails (no silent trust)", async () => {
    const credentials = kubeconfigCredentials(fake.writeKubeconfig("token"));
    credentials.tls = {};
    const error = await new KubeClient(credentials, fake.namespace).listPods({ labelSelector: selector }).catch((e) => e);
    expect((error as Error).name).toBe("KubeUnreachableError");
    expect((error as Error).message).toContain(`Kubernetes API at ${fake.url} not answering`);
  });

  test("problems name the file and the field", () => {
    const dir = tempDir("kubeconfig-");
    const write = (name: string, doc: object) => {
      const path = join(dir, name);
      writeFileSync(path, Bun.YAML.stringify(doc, null, 2));
      return path;
    };
    const base = {
      "current-context": "c",
      clusters: [{ name: "k", cluster: { server: "https://127.0.0.1:6443" } }],
      contexts: [{ name: "c", context: { cluster: "k", user: "u" } }],
    };
    const cases: Array<[object, string]> = [
      [{ ...base, "current-context": undefined }, "current-context is not set"],
      [{ ...base, users: [] }, "users has no entry named 'u'"],
      [
        { ...base, users: [{ name: "u", user: { exec: { command: "aws" } } }] },
        "users['u'].user: exec and auth-provider plugins are not supported",
      ],
      [
        { ...base, users: [{ name: "u", user: { "client-certificate-data": "bm90IHBlbQ==" } }] },
        "users['u'].user.client-certificate-data: not base64 of a PEM",
      ],
      [
        { ...base, users: [{ name: "u", user: { "client-certificate": "missing.crt", "client-key": "missing.key" } }] },
        "users['u'].user.client-certificate: cannot read",
      ],
      [{ ...base, users: [{ name: "u", user: {} }] }, "users['u'].user: no token, tokenFile or client-certificate"],
      [
        { ...base, clusters: [{ name: "k", cluster: { server: "http://x" } }], users: [{ name: "u", user: { token: "t" } }] },
        "clusters['k'].cluster.server: expected an https:// URL",
      ],
    ];
    cases.forEach(([doc, expected], index) => {
      const path = write(`case-${index}.yaml`, doc);
      expect(() => kubeconfigCredentials(path)).toThrow(KubeCredentialsError);
      expect(() => kubeconfigCredentials(path)).toThrow(`KUBECONFIG ${path}`);
      expect(() => kubeconfigCredentials(path)).toThrow(expected);
    });
  });

  test("neither KUBECONFIG nor a pod: one line saying so", () => {
    expect(() => loadCredentials({})).toThrow("no credentials: KUBECONFIG is unset and this is not a pod (KUBERNETES_SERVICE_HOST unset)");
  });
});

describe("token rotation", () => {
  /** A fake service-account mount: token, ca.crt and namespace files, as the kubelet projects them. */
  function serviceAccountDir(token: string): string {
    const dir = tempDir("serviceaccount-");
    writeFileSync(join(dir, "token"), token);
    writeFileSync(join(dir, "ca.crt"), fake.certs.ca);
    writeFileSync(join(dir, "namespace"), fake.namespace);
    return dir;
  }
  const inClusterEnv = () => ({ KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: new URL(fake.url).port });

  test("in-cluster: a rotated token file is read on the next request; the old token is no longer sent", async () => {
    const [oldToken, newToken] = ["rotating-token-aaaa", "rotating-token-bbbbbb"];
    fake.tokens.set(oldToken, { user: "sa-old", verbs: ["list"] });
    const dir = serviceAccountDir(oldToken);
    const credentials = inClusterCredentials(inClusterEnv(), dir);
    expect(credentials).toMatchObject({ server: fake.url, namespace: fake.namespace, source: "in-cluster" });
    const client = new KubeClient(credentials, credentials.namespace);
    expect((await listedAs(client)).user).toBe("sa-old");
    fake.tokens.delete(oldToken);
    fake.tokens.set(newToken, { user: "sa-new", verbs: ["list"] });
    writeFileSync(join(dir, "token"), newToken);
    expect((await listedAs(client)).user).toBe("sa-new");
  });

  test("a token changed without its file's stamp changing (same size, same mtime): the 401 is retried once with a fresh read", async () => {
    const [oldToken, newToken] = ["stamp-token-1111", "stamp-token-2222"];
    fake.tokens.set(oldToken, { user: "sa-1", verbs: ["list"] });
    const dir = serviceAccountDir(oldToken);
    const path = join(dir, "token");
    const stamp = new Date(Date.now() - 60_000); // whole milliseconds, so utimes can set it exactly again
    utimesSync(path, stamp, stamp);
    const client = new KubeClient(inClusterCredentials(inClusterEnv(), dir), fake.namespace);
    expect((await listedAs(client)).user).toBe("sa-1");
    fake.tokens.delete(oldToken);
    fake.tokens.set(newToken, { user: "sa-2", verbs: ["list"] });
    writeFileSync(path, newToken);
    utimesSync(path, stamp, stamp);
    expect(statSync(path).mtimeMs).toBe(stamp.getTime());
    expect(readFileSync(path, "utf8")).toBe(newToken);
    const before = fake.requests.length;
    expect((await listedAs(client)).user).toBe("sa-2");
    expect(fake.requests.slice(before).map((request) => request.user ?? "refused")).toEqual(["refused", "sa-2"]);
  });

  test("KUBECONFIG tokenFile rotates the same way", async () => {
    fake.tokens.set("file-token-one", { user: "file-1", verbs: ["list"] });
    const path = fake.writeKubeconfig("token-file", "file-token-one");
    const client = new KubeClient(kubeconfigCredentials(path), fake.namespace);
    expect((await listedAs(client)).user).toBe("file-1");
    fake.tokens.set("file-token-two-longer", { user: "file-2", verbs: ["list"] });
    writeFileSync(join(fake.certs.dir, "token"), "file-token-two-longer");
    expect((await listedAs(client)).user).toBe("file-2");
  });
});
