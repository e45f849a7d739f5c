/**
 * Errors of the Kubernetes driver, typed so callers branch on a field instead of matching message text.
 */

/**
 * The API server answered with an error: its HTTP status, the Status object's `reason` (AlreadyExists,
 * NotFound, Gone, Unauthorized, Forbidden, Conflict, ...) and its own message, which names what was refused.
 */
export class KubeApiError extends Error {
  override name = "KubeApiError";
  constructor(
    /** HTTP status (401, 403, 404, 409, 410, ...). */
    readonly status: number,
    /** The Status object's `reason`; `Unknown` when the body was not a Status. */
    readonly reason: string,
    /** The API server's own message. */
    readonly apiMessage: string,
    /** What was asked, e.g. `create pod te-default-pool-0`. */
    readonly operation: string,
  ) {
    super(`Kubernetes API: ${operation}: ${status} ${reason}: ${apiMessage}${hint(status)}`);
  }
}

/** What an operator does about the statuses that are about credentials and permissions. */
function hint(status: number): string {
  if (status === 401) return " (the credentials were refused: check KUBECONFIG's user or the service-account token)";
  if (status === 403) return " (the service account lacks the permission: deploy/kubernetes/ has the Role it needs)";
  return "";
}

/** The API server did not answer at all (refused, reset, TLS failure, timeout). */
export class KubeUnreachableError extends Error {
  override name = "KubeUnreachableError";
  constructor(
    readonly server: string,
    readonly operation: string,
    cause: unknown,
  ) {
    super(`Kubernetes API at ${server} not answering (${operation}): ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** Credentials could not be read: the message names the file and, for KUBECONFIG, the field. */
export class KubeCredentialsError extends Error {
  override name = "KubeCredentialsError";
}

/** The driver's watch was closed (the driver closing) while something waited on it. */
export class WatchClosedError extends Error {
  override name = "WatchClosedError";
  constructor() {
    super("the driver's pod watch was closed");
  }
}

/** A pod could not be brought up (failed before Ready, or not Ready in time). */
export class PodStartError extends Error {
  override name = "PodStartError";
  constructor(
    readonly podName: string,
    readonly why: string,
  ) {
    super(`pod ${podName} ${why}`);
  }
}
