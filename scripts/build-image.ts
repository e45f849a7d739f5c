/**
 * `npm run build:image`: builds the transcriber image locally (no registry). Flags: `--gateway` builds the
 * gateway image instead (deploy/Containerfile.gateway, for the Quadlet unit); `--if-stale` builds the
 * transcriber only when it is missing or older than its sources; `--base IMAGE` sets the Containerfile's BASE.
 * The transcriber image carries the local recognizer: installed first from Debian packages when it can be.
 */
import { buildImage, ensureImage, IMAGES } from "../runtime/image-build.ts";
import { ensureRecognizer } from "./recognizer-setup.ts";

const args = process.argv.slice(2);
const baseIndex = args.indexOf("--base");
const base = baseIndex >= 0 ? args[baseIndex + 1] : undefined;
const image = args.includes("--gateway") ? IMAGES.gateway : IMAGES.transcriber;

try {
  if (image === IMAGES.transcriber) {
    const missing = await ensureRecognizer();
    if (missing) console.log(`[build:image] local recognizer not available: ${missing}`);
  }
  if (args.includes("--if-stale") && image === IMAGES.transcriber) {
    const { tag, built } = await ensureImage();
    if (!built) console.log(`[build:image] ${tag} is up to date`);
  } else {
    await buildImage({ base, image });
  }
} catch (error) {
  console.error(`[build:image] ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
