/** CONTAINER_DRIVER's values, declared once: the config validates against them and detect.ts acts on them. */

/**
 * `auto`: the engine driver when an engine answers, else the process driver. `kubernetes` is only ever chosen
 * explicitly (runtime/kubernetes/).
 */
export const DRIVER_CHOICES = ["auto", "podman", "docker", "process", "kubernetes"] as const;

export type DriverChoice = (typeof DRIVER_CHOICES)[number];
