/**
 * What the FROM-scratch transcriber image needs for the local recognizer, as host paths copied to the same
 * path in the image: the two libraries, every library they link (`ldd` of the libraries themselves: the
 * binary only dlopens them, so its own `ldd` lists none of these), and the en-us model without the phone LM
 * (used only for phoneme decoding, which the backend does not do).
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { recognizerMissing } from "./availability.ts";
import { DEFAULT_MODEL_DIR, POCKETSPHINX_LIBRARY, SPHINXBASE_LIBRARY } from "./pocketsphinx.ts";

/** Model files the backend never opens. */
const UNUSED_MODEL_FILES = new Set(["en-us-phone.lm.bin", "README"]);

/** The files, or why they cannot be collected here (the recognizer is not installed). */
export async function recognizerImageFiles(ldd: (file: string) => Promise<string[]>): Promise<{ files: string[] } | { missing: string }> {
  const missing = recognizerMissing();
  if (missing) return { missing };
  const libraries = [SPHINXBASE_LIBRARY, POCKETSPHINX_LIBRARY];
  for (const library of [SPHINXBASE_LIBRARY, POCKETSPHINX_LIBRARY]) libraries.push(...(await ldd(library)));
  return { files: [...new Set([...libraries, ...filesUnder(DEFAULT_MODEL_DIR)])] };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (UNUSED_MODEL_FILES.has(name)) return [];
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}
