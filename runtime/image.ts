/**
 * Where the images are named: the transcriber (the podman driver runs it) and the gateway (the Quadlet unit
 * runs it); scripts/build-image.ts builds both.
 */

/** The tag `npm run build:image` produces. Local only: no registry is involved. */
export const DEFAULT_TRANSCRIBER_IMAGE = "localhost/transcribe-edge-transcriber:latest";

/** The image the engine driver runs: `TRANSCRIBER_IMAGE` when set (a pinned or pushed build), else the default. */
export function transcriberImage(env: Record<string, string | undefined> = process.env): string {
  const fromEnv = env.TRANSCRIBER_IMAGE?.trim();
  return fromEnv ? fromEnv : DEFAULT_TRANSCRIBER_IMAGE;
}

/** The tag `npm run build:image -- --gateway` produces, and the image deploy/transcribe-edge.container runs. */
export const DEFAULT_GATEWAY_IMAGE = "localhost/transcribe-edge-gateway:latest";

/** The gateway image: `GATEWAY_IMAGE` when set, else the local default. */
export function gatewayImage(env: Record<string, string | undefined> = process.env): string {
  const fromEnv = env.GATEWAY_IMAGE?.trim();
  return fromEnv ? fromEnv : DEFAULT_GATEWAY_IMAGE;
}
