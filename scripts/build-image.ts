/**
 * `npm run build:image`: builds the transcriber image locally (no registry). Flags: `--if-stale` builds only
 * when the image is missing or older than its sources; `--base IMAGE` sets the Containerfile's BASE.
 */
import { buildImage, ensureImage } from "../runtime/image-build.ts";

const args = process.argv.slice(2);
const baseIndex = args.indexOf("--base");
const base = baseIndex >= 0 ? args[baseIndex + 1] : undefined;

try {
  if (args.includes("--if-stale")) {
    const { tag, built } = await ensureImage();
    if (!built) console.log(`[build:image] ${tag} is up to date`);
  } else {
    await buildImage({ base });
  }
} catch (error) {
  console.error(`[build:image] ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
