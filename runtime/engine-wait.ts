/**
 * Waiting for a container to exit, cheaply. Podman 4.3-4.5 answers the Docker-compatible
 * `POST /containers/{id}/wait` by polling the container's state every nanosecond (its compat handler sets
 * `interval := time.Nanosecond`; 4.6 made it 250 ms): with a wait held per running container, as the driver
 * does, the API service burned 112 % CPU for four idle containers on this 2-core machine. On Podman the libpod
 * endpoint is used instead, which polls at the `interval` it is given; Docker's compat wait is event-driven.
 */
import { getContainerRuntimeClient } from "testcontainers";
import { engineFetch, type EngineSocket } from "./engine.ts";

/** How often Podman checks the container's state for a libpod wait: the crash-detection latency it adds. */
export const LIBPOD_WAIT_INTERVAL = "100ms";

/** An engine answer with an HTTP status (404: the container is gone). */
export class EngineWaitError extends Error {
  constructor(
    message: string,
    readonly statusCode: number | undefined,
  ) {
    super(message);
  }
}

/**
 * Resolves with the container's exit code once it has stopped. Rejects with EngineWaitError (statusCode 404
 * when the container does not exist) or with the transport's error when the engine cannot be reached;
 * `signal` abandons the wait.
 */
export async function waitForExit(engine: EngineSocket, id: string, signal?: AbortSignal): Promise<number | null> {
  if (engine.name !== "podman") {
    const client = await getContainerRuntimeClient();
    let result: { StatusCode?: number };
    try {
      result = (await client.container.getById(id).wait()) as { StatusCode?: number };
    } catch (error) {
      // dockerode's answer errors carry the engine's status; transport errors (no status) pass as they are.
      const statusCode = (error as { statusCode?: unknown }).statusCode;
      if (typeof statusCode !== "number") throw error;
      throw new EngineWaitError(`engine wait for ${id} answered ${statusCode}: ${(error as Error).message}`, statusCode);
    }
    return typeof result.StatusCode === "number" ? result.StatusCode : null;
  }
  const query = `condition=stopped&condition=exited&interval=${LIBPOD_WAIT_INTERVAL}`;
  const response = await engineFetch(engine.dockerHost, `/v4.0.0/libpod/containers/${encodeURIComponent(id)}/wait?${query}`, {
    method: "POST",
    signal,
    // A wait lasts as long as the container runs: no client-side timeout (Bun's fetch option).
    ...({ timeout: false } as object),
  });
  const body = (await response.text()).trim();
  if (!response.ok) throw new EngineWaitError(`engine wait for ${id} answered ${response.status}: ${body.slice(0, 200)}`, response.status);
  const code = Number(body);
  return Number.isInteger(code) ? code : null;
}
