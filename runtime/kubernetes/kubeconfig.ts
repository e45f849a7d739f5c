/**
 * KUBECONFIG: the current context's cluster (server, CA inline or by file) and user (a token, a token file, or
 * a client certificate and key, inline `-data` or by file). Relative paths are relative to the file, as kubectl
 * reads them. Exec plugins and auth providers are not run: the error says so and names the user.
 */
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { type KubeCredentials, type KubeTls, pemFile, TokenFile } from "./credentials.ts";
import { KubeCredentialsError } from "./errors.ts";

interface Named<T> {
  name?: string;
  [key: string]: unknown;
  value?: T;
}

type Fields = Record<string, unknown>;

function entry(list: unknown, kind: "clusters" | "users" | "contexts", name: string, file: string): Fields {
  if (!Array.isArray(list)) throw new KubeCredentialsError(`KUBECONFIG ${file}: no ${kind} list`);
  const found = (list as Named<unknown>[]).find((item) => item?.name === name);
  const singular = kind.slice(0, -1);
  if (!found) throw new KubeCredentialsError(`KUBECONFIG ${file}: ${kind} has no entry named '${name}'`);
  const fields = found[singular];
  if (typeof fields !== "object" || fields === null)
    throw new KubeCredentialsError(`KUBECONFIG ${file}: ${kind}['${name}'].${singular} is missing`);
  return fields as Fields;
}

function text(fields: Fields, field: string, where: string): string | undefined {
  const value = fields[field];
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") throw new KubeCredentialsError(`${where}.${field}: expected a string`);
  return value;
}

/** Inline base64 `-data` or a file path (relative to the kubeconfig): PEM text, or undefined when neither is set. */
function pem(fields: Fields, field: string, where: string, base: string, marker: "CERTIFICATE" | "PRIVATE KEY"): string | undefined {
  const inline = text(fields, `${field}-data`, where);
  if (inline !== undefined) {
    const decoded = Buffer.from(inline, "base64").toString("utf8");
    if (!decoded.includes("-----BEGIN "))
      throw new KubeCredentialsError(`${where}.${field}-data: not base64 of a PEM ${marker.toLowerCase()}`);
    return decoded;
  }
  const path = text(fields, field, where);
  if (path === undefined) return undefined;
  return pemFile(isAbsolute(path) ? path : join(base, path), `${where}.${field}`, marker);
}

/** Reads the kubeconfig at `path` (a single file) into credentials for its current context. */
export function kubeconfigCredentials(path: string): KubeCredentials {
  if (path.includes(":")) throw new KubeCredentialsError(`KUBECONFIG: a list of files is not supported; name one file (got '${path}')`);
  let doc: Fields;
  try {
    doc = Bun.YAML.parse(readFileSync(path, "utf8")) as Fields;
  } catch (error) {
    throw new KubeCredentialsError(`KUBECONFIG ${path}: cannot read it as YAML: ${(error as Error).message}`);
  }
  if (typeof doc !== "object" || doc === null) throw new KubeCredentialsError(`KUBECONFIG ${path}: not a kubeconfig (no mapping)`);
  const contextName = text(doc, "current-context", `KUBECONFIG ${path}`);
  if (!contextName) throw new KubeCredentialsError(`KUBECONFIG ${path}: current-context is not set`);
  const context = entry(doc.contexts, "contexts", contextName, path);
  const clusterName = text(context, "cluster", `KUBECONFIG ${path}: contexts['${contextName}']`);
  const userName = text(context, "user", `KUBECONFIG ${path}: contexts['${contextName}']`);
  if (!clusterName) throw new KubeCredentialsError(`KUBECONFIG ${path}: contexts['${contextName}'].cluster is not set`);
  const cluster = entry(doc.clusters, "clusters", clusterName, path);
  const base = dirname(path);
  const clusterWhere = `KUBECONFIG ${path}: clusters['${clusterName}'].cluster`;
  const server = text(cluster, "server", clusterWhere)?.replace(/\/+$/, "");
  if (!server?.startsWith("https://"))
    throw new KubeCredentialsError(`${clusterWhere}.server: expected an https:// URL (got '${server ?? ""}')`);
  const tls: KubeTls = {};
  const ca = pem(cluster, "certificate-authority", clusterWhere, base, "CERTIFICATE");
  if (ca) tls.ca = ca;
  if (cluster["insecure-skip-tls-verify"] === true) tls.rejectUnauthorized = false;

  let token: KubeCredentials["token"] = () => undefined;
  if (userName) {
    const user = entry(doc.users, "users", userName, path);
    const where = `KUBECONFIG ${path}: users['${userName}'].user`;
    if (user.exec !== undefined || user["auth-provider"] !== undefined) {
      throw new KubeCredentialsError(
        `${where}: exec and auth-provider plugins are not supported; use a token, tokenFile or client certificate`,
      );
    }
    const cert = pem(user, "client-certificate", where, base, "CERTIFICATE");
    const key = pem(user, "client-key", where, base, "PRIVATE KEY");
    if ((cert === undefined) !== (key === undefined)) {
      throw new KubeCredentialsError(`${where}: client-certificate and client-key go together (only one is set)`);
    }
    if (cert && key) Object.assign(tls, { cert, key });
    const inline = text(user, "token", where);
    const tokenPath = text(user, "tokenFile", where);
    if (inline) token = () => inline;
    else if (tokenPath) {
      const file = new TokenFile(isAbsolute(tokenPath) ? tokenPath : join(base, tokenPath), `${where}.tokenFile`);
      token = (fresh) => file.read(fresh);
    } else if (!cert) throw new KubeCredentialsError(`${where}: no token, tokenFile or client-certificate`);
  }
  const namespace = text(context, "namespace", `KUBECONFIG ${path}`) ?? "default";
  return { server, namespace, tls, token, source: `KUBECONFIG ${path} (context ${contextName})` };
}
