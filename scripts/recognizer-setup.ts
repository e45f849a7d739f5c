/**
 * `dev` and `build:image` make the local recognizer available when they can: if its files are missing and
 * this is root on a machine with apt-get, they run scripts/recognizer-setup.sh (as the browser tests install
 * Chromium); otherwise they report the one command that would.
 */
import { join } from "node:path";
import { RECOGNIZER_SETUP_COMMAND, recognizerMissing } from "../transcriber/local/availability.ts";

const SCRIPT = join(import.meta.dir, "recognizer-setup.sh");

/** Side effects, injected for tests. */
export interface SetupDeps {
  missing: () => string | undefined;
  canInstall: () => boolean;
  /** Runs the setup script; resolves its exit code. */
  install: () => Promise<number>;
  log: (line: string) => void;
}

const defaults: SetupDeps = {
  missing: () => recognizerMissing(),
  canInstall: () => process.getuid?.() === 0 && Bun.which("apt-get") !== null,
  install: () => Bun.spawn(["bash", SCRIPT], { stdout: "inherit", stderr: "inherit" }).exited,
  log: (line) => console.log(line),
};

/**
 * Resolves undefined when the recognizer is installed (installing it first if it can), otherwise the reason
 * it is not, ending with the command that would install it.
 */
export async function ensureRecognizer(deps: Partial<SetupDeps> = {}): Promise<string | undefined> {
  const { missing, canInstall, install, log } = { ...defaults, ...deps };
  const before = missing();
  if (!before) return undefined;
  if (!canInstall()) return `${before}; to enable it: ${RECOGNIZER_SETUP_COMMAND}`;
  log(`[recognizer] ${before}: installing (scripts/recognizer-setup.sh)`);
  const code = await install();
  const after = missing();
  if (!after) return undefined;
  return `${after} (the setup exited ${code}); to enable it: ${RECOGNIZER_SETUP_COMMAND}`;
}
