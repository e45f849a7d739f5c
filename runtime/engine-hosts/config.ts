/**
 * ENGINE_HOSTS: the engine API endpoints one cluster places its instances on. Each entry is
 * `[name@]unix:///path | tcp://host:port | ssh://user@host[:port]`, optionally `=N` (its most running
 * instances). The address a host's containers publish on is `ENGINE_HOST_ADDRESS_<NAME>` (the name upper-cased,
 * `-` as `_`); a host on this machine (a Unix socket, tcp:// to loopback) defaults to 127.0.0.1.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { basename, join } from "node:path";

export type EngineHostKind = "unix" | "tcp" | "ssh";

/** TLS client material for tcp:// hosts (ENGINE_TLS_DIR, laid out as Docker's DOCKER_CERT_PATH). */
export interface EngineTlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** One parsed ENGINE_HOSTS entry. */
export interface EngineHostSpec {
  /** Short stable name: given (`name@...`) or derived from the endpoint. Shown in /stats and logs. */
  name: string;
  /** The endpoint as given, without `name@` and `=N`. */
  endpoint: string;
  kind: EngineHostKind;
  /** unix: the socket path. */
  socketPath?: string;
  /** tcp and ssh: host name or address, and port. */
  host?: string;
  port?: number;
  /** ssh: the user. */
  user?: string;
  /** tcp: client certificates (absent only for a loopback host without ENGINE_TLS_DIR). */
  tls?: EngineTlsFiles;
  /** Most running instances on this host (`=N`); undefined: no limit of its own. */
  limit: number | undefined;
  /** IPv4 address the host's containers publish their port on; what every gateway of the cluster dials. */
  publishAddress: string;
  /** True when the engine is on this machine (Unix socket, tcp:// to loopback). */
  local: boolean;
}

/** A bad ENGINE_HOSTS / ENGINE_TLS_DIR / ENGINE_HOST_ADDRESS_* value; the message is one line naming it. */
export class EngineHostsConfigError extends Error {
  override name = "EngineHostsConfigError";
}

type Env = Record<string, string | undefined>;

const NAME = /^[a-z0-9][a-z0-9-]{0,23}$/;
const NAMED = /^([^@/:]+)@((?:unix|tcp|ssh):\/\/.*)$/;
const LIMIT = /^(.*)=(\d+)$/;
const HOST_NAME = /^[A-Za-z0-9.-]+$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$/;
const LOOPBACK = (host: string) => host === "localhost" || host.startsWith("127.");

/** The environment variable holding the publish address of host `name`. */
export function addressVariable(name: string): string {
  return `ENGINE_HOST_ADDRESS_${name.toUpperCase().replaceAll("-", "_")}`;
}

/** A name from the endpoint alone, so it stays the same however the list is ordered. */
function derivedName(kind: EngineHostKind, socketPath: string | undefined, host: string | undefined): string {
  const raw =
    kind === "unix" ? basename(socketPath!).replace(/\.sock$/, "") : IPV4.test(host!) ? host!.replaceAll(".", "-") : host!.split(".")[0]!;
  const cleaned = raw
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .replace(/^-+/, "")
    .slice(0, 16);
  return cleaned || "host";
}

function tlsFiles(env: Env): EngineTlsFiles | undefined {
  const dir = env.ENGINE_TLS_DIR?.trim();
  if (!dir) return undefined;
  const files = { caFile: join(dir, "ca.pem"), certFile: join(dir, "cert.pem"), keyFile: join(dir, "key.pem") };
  for (const file of Object.values(files)) {
    if (!existsSync(file))
      throw new EngineHostsConfigError(`ENGINE_TLS_DIR: ${file} not found (expected ca.pem, cert.pem and key.pem in ${dir})`);
  }
  return files;
}

function parseEntry(entry: string, tls: EngineTlsFiles | undefined): Omit<EngineHostSpec, "publishAddress" | "name"> & { name?: string } {
  let rest = entry;
  let name: string | undefined;
  const named = NAMED.exec(rest);
  if (named) {
    name = named[1]!;
    if (!NAME.test(name)) throw new EngineHostsConfigError(`ENGINE_HOSTS: host name '${name}' must be 1-24 of a-z 0-9 - (in '${entry}')`);
    rest = named[2]!;
  }
  let limit: number | undefined;
  const limited = LIMIT.exec(rest);
  if (limited) {
    limit = Number(limited[2]);
    if (limit < 1 || limit > 10_000) throw new EngineHostsConfigError(`ENGINE_HOSTS: limit in '${entry}' must be from 1 to 10000`);
    rest = limited[1]!;
  }
  const bad = () =>
    new EngineHostsConfigError(
      `ENGINE_HOSTS: expected [name@]unix:///path, tcp://host:port or ssh://user@host[:port], each optionally =N (got '${entry}')`,
    );
  if (rest.startsWith("unix://")) {
    const socketPath = rest.slice("unix://".length);
    if (!socketPath.startsWith("/") || /\s/.test(socketPath)) throw bad();
    return { name, endpoint: rest, kind: "unix", socketPath, limit, local: true };
  }
  const tcp = /^tcp:\/\/([^:/]+):(\d{1,5})$/.exec(rest);
  if (tcp) {
    const host = tcp[1]!;
    const port = Number(tcp[2]);
    if (!HOST_NAME.test(host) || port < 1 || port > 65535) throw bad();
    if (!tls && !LOOPBACK(host)) {
      throw new EngineHostsConfigError(
        `ENGINE_TLS_DIR: required for ${rest} (an engine API over TCP without client certificates is a root shell)`,
      );
    }
    return { name, endpoint: rest, kind: "tcp", host, port, tls, limit, local: LOOPBACK(host) };
  }
  const ssh = /^ssh:\/\/([A-Za-z0-9._-]+)@([^:/]+)(?::(\d{1,5}))?$/.exec(rest);
  if (ssh) {
    const host = ssh[2]!;
    if (!HOST_NAME.test(host)) throw bad();
    return { name, endpoint: rest, kind: "ssh", user: ssh[1]!, host, port: ssh[3] ? Number(ssh[3]) : 22, limit, local: false };
  }
  throw bad();
}

/**
 * Parses ENGINE_HOSTS (with ENGINE_TLS_DIR and ENGINE_HOST_ADDRESS_*); undefined when it is unset (one engine).
 * Throws EngineHostsConfigError naming the variable and the value on the first bad entry.
 */
export function parseEngineHosts(env: Env): EngineHostSpec[] | undefined {
  const raw = env.ENGINE_HOSTS?.trim();
  if (!raw) return undefined;
  const tls = tlsFiles(env);
  const entries = raw
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  const parsed = entries.map((entry) => parseEntry(entry, tls));
  // A derived name two endpoints share gets a suffix from each endpoint: the same names whatever the order.
  const given = new Set(parsed.flatMap((entry) => (entry.name ? [entry.name] : [])));
  const bases = parsed.map((entry) => entry.name ?? derivedName(entry.kind, entry.socketPath, entry.host));
  const hosts: EngineHostSpec[] = [];
  const names = new Set<string>();
  parsed.forEach((entry, i) => {
    let name = bases[i]!;
    const shared = !entry.name && (given.has(name) || bases.filter((base, j) => base === name && !parsed[j]!.name).length > 1);
    if (shared) name = `${name.slice(0, 11)}-${createHash("sha256").update(entry.endpoint).digest("hex").slice(0, 4)}`;
    if (names.has(name)) throw new EngineHostsConfigError(`ENGINE_HOSTS: host name '${name}' is given twice`);
    if (hosts.some((host) => host.endpoint === entry.endpoint))
      throw new EngineHostsConfigError(`ENGINE_HOSTS: ${entry.endpoint} is listed twice`);
    names.add(name);
    const variable = addressVariable(name);
    const address = env[variable]?.trim();
    if (address && !IPV4.test(address))
      throw new EngineHostsConfigError(`${variable}: expected an IPv4 address such as 10.0.0.12 (got '${address}')`);
    if (!address && !entry.local) {
      throw new EngineHostsConfigError(
        `${variable}: required for engine host ${name} (${entry.endpoint}): the address its containers publish on`,
      );
    }
    hosts.push({ ...entry, name, publishAddress: address || "127.0.0.1" });
  });
  if (hosts.length === 0) throw new EngineHostsConfigError(`ENGINE_HOSTS: no endpoint in '${raw}'`);
  return hosts;
}
