/** The API's error body: a `Status` object with the code, a CamelCase reason and a message naming the object. */
import type { V1Status } from "@kubernetes/client-node";

export function status(code: number, reason: string, message: string, details?: V1Status["details"]): V1Status {
  const body: V1Status = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code };
  if (details) body.details = details;
  return body;
}

export const unauthorized = () => status(401, "Unauthorized", "Unauthorized");

export function forbidden(user: string, verb: string, namespace: string, name?: string): V1Status {
  const subject = name ? `pods "${name}"` : "pods";
  return status(
    403,
    "Forbidden",
    `${subject} is forbidden: User "${user}" cannot ${verb} resource "pods" in API group "" in the namespace "${namespace}"`,
    { name, kind: "pods" },
  );
}

export const notFound = (name: string) => status(404, "NotFound", `pods "${name}" not found`, { name, kind: "pods" });

export const alreadyExists = (name: string) => status(409, "AlreadyExists", `pods "${name}" already exists`, { name, kind: "pods" });

export function uidConflict(name: string, wanted: string, actual: string): V1Status {
  return status(
    409,
    "Conflict",
    `Operation cannot be fulfilled on Pod "${name}": Precondition failed: UID in precondition: ${wanted}, UID in object meta: ${actual}`,
    { name, kind: "Pod" },
  );
}

export const expired = (version: number, oldest: string) => status(410, "Expired", `too old resource version: ${version} (${oldest})`);

export const invalid = (name: string, message: string) =>
  status(422, "Invalid", `Pod "${name}" is invalid: ${message}`, { name, kind: "Pod" });
