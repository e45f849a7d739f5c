/** Why a start on one engine host failed, as types the multi-host driver acts on. */
import { ImageMissingError } from "../podman-driver.ts";
import { statusOf } from "./client.ts";

/** The engine API of a host could not be reached during a start (refused, reset, timed out): not its answer. */
export class HostUnreachableError extends Error {
  override name = "HostUnreachableError";
  constructor(
    readonly hostName: string,
    cause: unknown,
  ) {
    super(`engine host ${hostName} did not answer: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/** A rejection handler that rethrows a transport failure (no HTTP status from the engine) as HostUnreachableError. */
export function unreachableAs(hostName: string) {
  return (error: unknown): never => {
    throw statusOf(error) === undefined && !(error instanceof ImageMissingError) ? new HostUnreachableError(hostName, error) : error;
  };
}
