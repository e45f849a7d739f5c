/** What the gateway reads of a multi-host driver: /stats' host list and instance hosts, and placement refusals. */

/** One engine host on /stats. */
export interface EngineHostStatus {
  name: string;
  endpoint: string;
  /** The engine answered its last ping. */
  up: boolean;
  /** The cluster's instances running (or starting) there. */
  running: number;
  /** Its `=N`, or null without one. */
  limit: number | null;
  /** Whether it has TRANSCRIBER_IMAGE (null: not known yet). */
  imagePresent: boolean | null;
  /** `npm run containers -- drain HOST`: no new placements. */
  drained: boolean;
  /** Up, has the image, not drained. */
  placeable: boolean;
}

/** Why a new container cannot be placed anywhere now: the gateway's 503 + Retry-After. */
export interface PlacementRefusal {
  message: string;
  retryAfterS: number;
}

export interface EngineHostsView {
  hosts(): EngineHostStatus[];
  /** The host running container `containerId`, when known. */
  hostOf(containerId: string): string | undefined;
  /** Why a start for `instanceId` would be refused now (every host full, down, drained or imageless), if so. */
  placementRefusal(instanceId: string): PlacementRefusal | undefined;
}
