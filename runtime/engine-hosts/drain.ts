/**
 * Draining an engine host: a marker that lives on the host itself, an engine volume named
 * `te-drain-<GATEWAY_NAME>`. Every gateway of the cluster checks its hosts each second anyway, so each sees the
 * marker within a second, it survives gateway restarts, and it needs neither the routing store nor a gateway
 * to be up: only the engine access an operator already has. Its name, not a label, is the marker.
 */
import type Docker from "dockerode";
import { statusOf } from "./client.ts";

/** The marker volume's name for a cluster. */
export function drainVolumeName(gatewayName: string): string {
  return `te-drain-${gatewayName}`;
}

/** Whether the host carries the cluster's drain marker. */
export async function isDrained(target: { client: Docker; gatewayName: string }): Promise<boolean> {
  try {
    await target.client.getVolume(drainVolumeName(target.gatewayName)).inspect();
    return true;
  } catch (error) {
    if (statusOf(error) === 404) return false;
    throw error;
  }
}

/** Puts the marker on the host (drain) or takes it off (undrain); both idempotent. */
export async function setDrained(client: Docker, gatewayName: string, drained: boolean): Promise<void> {
  const name = drainVolumeName(gatewayName);
  if (drained) {
    if (!(await isDrained({ client, gatewayName }))) await client.createVolume({ Name: name });
    return;
  }
  await client
    .getVolume(name)
    .remove()
    .catch((error: unknown) => {
      if (statusOf(error) !== 404) throw error;
    });
}
