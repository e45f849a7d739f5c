/**
 * Where the driver's API server, CA, identity and namespace come from: KUBECONFIG when set (kubeconfig.ts),
 * otherwise the pod's own service account (in-cluster). Tokens are files the kubelet rotates, so they are read
 * again whenever the file changed, never cached for the process's life.
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { KubeCredentialsError } from "./errors.ts";
import { kubeconfigCredentials } from "./kubeconfig.ts";

/** The service account's projected volume in every pod that mounts one. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** TLS material for Bun's fetch (`tls` option), PEM text. */
export interface KubeTls {
  ca?: string;
  cert?: string;
  key?: string;
  /** false only with kubeconfig's insecure-skip-tls-verify. */
  rejectUnauthorized?: boolean;
}

/** Everything the client needs to reach and authenticate to one API server. */
export interface KubeCredentials {
  /** `https://host:port`, no trailing slash. */
  server: string;
  /** The namespace the credentials point at (context or service account); KUBE_NAMESPACE overrides it. */
  namespace: string;
  tls: KubeTls;
  /** The bearer token for the next request (undefined: client-certificate auth). `fresh` forces a re-read. */
  token(fresh?: boolean): string | undefined;
  /** Where they came from, for logs and errors: `in-cluster`, `KUBECONFIG /path (context x)`. */
  source: string;
}

/**
 * A token kept in a file: read again when its modification time or size changed (kubelet-projected tokens
 * rotate about hourly and the old one stops working soon after), or when asked to after a 401.
 */
export class TokenFile {
  private token = "";
  private stamp = "";

  constructor(
    readonly path: string,
    /** Names the field or variable the path came from, for errors. */
    private readonly origin: string,
  ) {
    this.read(true);
  }

  read(fresh = false): string {
    let stamp: string;
    try {
      const stat = statSync(this.path);
      stamp = `${stat.mtimeMs}:${stat.size}:${stat.ino}`;
    } catch (error) {
      throw new KubeCredentialsError(`${this.origin}: cannot read token file ${this.path}: ${(error as Error).message}`);
    }
    if (!fresh && stamp === this.stamp) return this.token;
    const token = readFileSync(this.path, "utf8").trim();
    if (token === "") throw new KubeCredentialsError(`${this.origin}: token file ${this.path} is empty`);
    this.token = token;
    this.stamp = stamp;
    return token;
  }
}

function readPem(path: string, origin: string, marker: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new KubeCredentialsError(`${origin}: cannot read ${path}: ${(error as Error).message}`);
  }
  if (!text.includes(`-----BEGIN ${marker}`)) throw new KubeCredentialsError(`${origin}: ${path} holds no PEM ${marker}`);
  return text;
}

/** PEM text from a file, checked for the marker it must carry (CERTIFICATE, or a PRIVATE KEY of any kind). */
export function pemFile(path: string, origin: string, marker: "CERTIFICATE" | "PRIVATE KEY"): string {
  if (marker === "CERTIFICATE") return readPem(path, origin, "CERTIFICATE");
  const text = readPem(path, origin, "");
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) throw new KubeCredentialsError(`${origin}: ${path} holds no PEM private key`);
  return text;
}

type Env = Record<string, string | undefined>;

/** The pod's own service account: API server from KUBERNETES_SERVICE_HOST/PORT, token, CA and namespace files. */
export function inClusterCredentials(env: Env = process.env, dir = SERVICE_ACCOUNT_DIR): KubeCredentials {
  const host = env.KUBERNETES_SERVICE_HOST?.trim();
  const port = env.KUBERNETES_SERVICE_PORT?.trim() || "443";
  if (!host) throw new KubeCredentialsError("in-cluster credentials: KUBERNETES_SERVICE_HOST is unset (not running in a pod?)");
  const tokenFile = new TokenFile(join(dir, "token"), "in-cluster service account");
  const ca = pemFile(join(dir, "ca.crt"), "in-cluster service account", "CERTIFICATE");
  let namespace: string;
  try {
    namespace = readFileSync(join(dir, "namespace"), "utf8").trim();
  } catch (error) {
    throw new KubeCredentialsError(`in-cluster service account: cannot read ${join(dir, "namespace")}: ${(error as Error).message}`);
  }
  const server = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
  return { server, namespace, tls: { ca }, token: (fresh) => tokenFile.read(fresh), source: "in-cluster" };
}

/**
 * KUBECONFIG when set, else in-cluster when this is a pod, else one line saying neither is there.
 * `serviceAccountDir` is injectable so tests can stand in for the kubelet's mount.
 */
export function loadCredentials(env: Env = process.env, serviceAccountDir = SERVICE_ACCOUNT_DIR): KubeCredentials {
  const kubeconfig = env.KUBECONFIG?.trim();
  if (kubeconfig) return kubeconfigCredentials(kubeconfig);
  if (env.KUBERNETES_SERVICE_HOST?.trim()) return inClusterCredentials(env, serviceAccountDir);
  throw new KubeCredentialsError(
    "CONTAINER_DRIVER=kubernetes: no credentials: KUBECONFIG is unset and this is not a pod (KUBERNETES_SERVICE_HOST unset)",
  );
}
