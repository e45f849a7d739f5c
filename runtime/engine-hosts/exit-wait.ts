/**
 * Waiting for a container on one engine host to exit, through that host's own dockerode client. On Podman the
 * libpod wait is used with an interval: its Docker-compatible wait polls every nanosecond on Podman 4.3-4.5
 * (runtime/engine-wait.ts says more), which one held wait per container turns into a busy API service.
 */
import type Docker from "dockerode";
import { statusOf } from "./client.ts";

/** How often Podman checks the container's state for a libpod wait: the crash-detection latency it adds. */
const LIBPOD_WAIT_INTERVAL = "100ms";

/** The engine answered a wait with an error status (404: the container is gone). */
export class HostWaitError extends Error {
  override name = "HostWaitError";
  constructor(
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
  }
}

/**
 * Resolves with the exit code once the container stopped. Rejects with HostWaitError when the engine answered
 * with an error, or with the transport's error when it could not be reached; `signal` abandons the wait.
 */
export async function waitForHostExit(client: Docker, podman: boolean, id: string, signal: AbortSignal): Promise<number | null> {
  try {
    if (!podman) {
      const result = (await client.getContainer(id).wait({ abortSignal: signal })) as { StatusCode?: number };
      return typeof result.StatusCode === "number" ? result.StatusCode : null;
    }
    const body = await new Promise<unknown>((resolve, reject) =>
      client.modem.dial(
        {
          path: `/v4.0.0/libpod/containers/${encodeURIComponent(id)}/wait?`,
          method: "POST",
          options: { condition: ["stopped", "exited"], interval: LIBPOD_WAIT_INTERVAL },
          abortSignal: signal,
          statusCodes: { 200: true, 404: "no such container", 500: "server error" },
        } as Parameters<typeof client.modem.dial>[0],
        (error: unknown, data: unknown) => (error ? reject(error) : resolve(data)),
      ),
    );
    const code = Number(typeof body === "string" ? body.trim() : body);
    return Number.isInteger(code) ? code : null;
  } catch (error) {
    const statusCode = statusOf(error);
    if (statusCode === undefined) throw error;
    throw new HostWaitError(`engine wait for ${id} answered ${statusCode}: ${(error as Error).message}`, statusCode);
  }
}
