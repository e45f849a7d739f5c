/** Finding a Docker-compatible engine API socket (Podman's or Docker's) without any client library. */

/** An engine that answered `_ping`. */
export interface EngineSocket {
  /** `podman` when the API identifies as libpod, else `docker`. */
  name: "podman" | "docker";
  /** The DOCKER_HOST value that reached it: `unix:///path` or `tcp://host:port`. */
  dockerHost: string;
}

/**
 * DOCKER_HOST values to try, in order: $DOCKER_HOST, rootful Podman, rootless Podman, Docker. Duplicates are
 * dropped so an error message lists each once.
 */
export function candidateSockets(env: Record<string, string | undefined> = process.env): string[] {
  const hosts: string[] = [];
  const dockerHost = env.DOCKER_HOST?.trim();
  if (dockerHost) hosts.push(dockerHost);
  hosts.push("unix:///run/podman/podman.sock");
  if (env.XDG_RUNTIME_DIR) hosts.push(`unix://${env.XDG_RUNTIME_DIR}/podman/podman.sock`);
  hosts.push("unix:///var/run/docker.sock");
  return [...new Set(hosts)];
}

/** An HTTP request to the engine API at a DOCKER_HOST (`unix:///path` through Bun's `unix` option, or `tcp://`). */
export function engineFetch(dockerHost: string, path: string, init: RequestInit = {}): Promise<Response> {
  if (dockerHost.startsWith("unix://")) {
    return fetch(`http://engine${path}`, { ...init, unix: dockerHost.slice("unix://".length) } as RequestInit);
  }
  return fetch(`${dockerHost.replace(/^tcp:/, "http:")}${path}`, init);
}

/** Pings one DOCKER_HOST (unix or tcp); resolves undefined when nothing answers `OK` within `timeoutMs`. */
export async function pingSocket(dockerHost: string, timeoutMs = 500): Promise<EngineSocket | undefined> {
  try {
    const response = await engineFetch(dockerHost, "/_ping", { signal: AbortSignal.timeout(timeoutMs) });
    const body = await response.text();
    if (!response.ok || body.trim() !== "OK") return undefined;
    // Podman's compat API adds Libpod-* headers; Docker never does.
    const name = response.headers.has("libpod-api-version") ? "podman" : "docker";
    return { name, dockerHost };
  } catch {
    return undefined;
  }
}

/** The first candidate that answers, or undefined. */
export async function findEngine(
  env: Record<string, string | undefined> = process.env,
  timeoutMs = 500,
  candidates: string[] = candidateSockets(env),
): Promise<EngineSocket | undefined> {
  for (const dockerHost of candidates) {
    const engine = await pingSocket(dockerHost, timeoutMs);
    if (engine) return engine;
  }
  return undefined;
}
