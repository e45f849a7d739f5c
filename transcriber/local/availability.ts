/**
 * Whether the shipped recognizer can run here: its libraries and model files exist. `dev` and the tests ask
 * before choosing or skipping the local backend; the transcriber itself fails at start with the same line.
 */
import { existsSync } from "node:fs";
import {
  DEFAULT_MODEL_DIR,
  modelFiles,
  POCKETSPHINX_LIBRARY,
  RECOGNIZER_PACKAGES,
  RecognizerUnavailableError,
  SPHINXBASE_LIBRARY,
} from "./pocketsphinx.ts";

/** The one command that installs the recognizer on Debian (what `dev` prints when it cannot run it). */
export const RECOGNIZER_SETUP_COMMAND = "sudo bash scripts/recognizer-setup.sh";

/** Why the recognizer cannot run (one line naming the missing file), or undefined when it can. */
export function recognizerMissing(modelDir = DEFAULT_MODEL_DIR): string | undefined {
  for (const file of [SPHINXBASE_LIBRARY, POCKETSPHINX_LIBRARY]) {
    if (!existsSync(file)) return `${file} is missing (Debian packages: ${RECOGNIZER_PACKAGES})`;
  }
  try {
    modelFiles(modelDir);
  } catch (error) {
    if (error instanceof RecognizerUnavailableError) return error.message;
    throw error;
  }
  return undefined;
}
