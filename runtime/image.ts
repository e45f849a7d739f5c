/** Where the transcriber image is named; the podman driver runs it and scripts/build-image.ts builds it. */

/** The tag `npm run build:image` produces. Local only: no registry is involved. */
export const DEFAULT_TRANSCRIBER_IMAGE = "localhost/transcribe-edge-transcriber:latest";

/** The image the engine driver runs: `TRANSCRIBER_IMAGE` when set (a pinned or pushed build), else the default. */
export function transcriberImage(env: Record<string, string | undefined> = process.env): string {
  const fromEnv = env.TRANSCRIBER_IMAGE?.trim();
  return fromEnv ? fromEnv : DEFAULT_TRANSCRIBER_IMAGE;
}

/** The image name as configured at import time; use transcriberImage() when env may change later. */
export const TRANSCRIBER_IMAGE = transcriberImage();
