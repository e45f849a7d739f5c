/** The single engine API calls a host driver makes, each with the answer it needs turned into a plain value. */
import type Docker from "dockerode";
import type { ContainerInfo } from "../driver.ts";
import { LABEL_GATEWAY, LABEL_INSTANCE, LABEL_MANAGED, LABEL_PORT } from "../driver.ts";
import { statusOf } from "./client.ts";
import { CONTAINER_PORT } from "./create-options.ts";

/** An engine call that got no answer in time (a frozen host accepts connections and never answers). */
export class NoAnswerError extends Error {
  override name = "NoAnswerError";
}

/**
 * `promise`, or a NoAnswerError after `ms`: every call on a host is bounded, so a host that stops answering
 * mid-call cannot hold a start or a check forever. The call itself is abandoned, not cancelled.
 */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new NoAnswerError(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves when the engine answers `_ping`; rejects after `timeoutMs` even where the transport ignores the signal. */
export async function pingWithin(client: Docker, timeoutMs: number): Promise<void> {
  const signal = AbortSignal.timeout(timeoutMs);
  const ping = client.ping as unknown as (options: { abortSignal: AbortSignal }) => Promise<unknown>;
  // The race bounds it: a frozen engine accepts the connection and never answers.
  await Promise.race([
    ping.call(client, { abortSignal: signal }),
    new Promise((_, reject) => signal.addEventListener("abort", () => reject(new Error(`no answer within ${timeoutMs} ms`)))),
  ]);
}

/** Whether the engine is Podman (its version lists a Podman component), which decides the wait endpoint. */
export async function isPodmanEngine(client: Docker): Promise<boolean> {
  const version = await client.version();
  return (version.Components ?? []).some((component) => /podman/i.test(component.Name));
}

/** Whether the engine has `image` (false only when it says it does not). */
export async function hasImageOn(client: Docker, image: string): Promise<boolean> {
  try {
    await client.getImage(image).inspect();
    return true;
  } catch (error) {
    if (statusOf(error) === 404) return false;
    throw error;
  }
}

/** The cluster's containers on the host (LABEL_GATEWAY = gatewayName), with endpoints on `publishAddress`. */
export async function listCluster(client: Docker, gatewayName: string, publishAddress: string, hostName: string): Promise<ContainerInfo[]> {
  const found = await client.listContainers({
    all: true,
    filters: { label: [`${LABEL_MANAGED}=true`, `${LABEL_GATEWAY}=${gatewayName}`] },
  });
  return found.map((info) => {
    const labels = info.Labels ?? {};
    const running = info.State === "running";
    const published = info.Ports?.find((p) => p.PrivatePort === CONTAINER_PORT && p.PublicPort)?.PublicPort;
    const port = labels[LABEL_PORT] ? Number(labels[LABEL_PORT]) : published;
    return {
      id: info.Id,
      instanceId: labels[LABEL_INSTANCE] ?? "",
      labels,
      running,
      endpoint: running && port ? { host: publishAddress, port } : undefined,
      createdAtMs: info.Created * 1000,
      hostName,
    };
  });
}

/**
 * Removes the container, asking again (`attempts` times, `retryMs` apart) until the engine says it is gone; a
 * refused removal or a broken connection is asked again. Resolves the last error when it gives up.
 */
export async function removeRetrying(container: Docker.Container, attempts: number, retryMs: number): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    const error = await container.remove({ force: true, v: true }).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (error === undefined || statusOf(error) === 404) return undefined;
    if (attempt === attempts) return error;
    await Bun.sleep(retryMs);
  }
}
