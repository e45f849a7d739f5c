import { describe, expect, test } from "bun:test";
import { recognizerMissing } from "../transcriber/local/availability.ts";
import { ensureRecognizer } from "./recognizer-setup.ts";

const MISSING = "/usr/lib/x86_64-linux-gnu/libpocketsphinx.so.3 is missing";

describe("ensureRecognizer", () => {
  test("installed: nothing to do, nothing run", async () => {
    let runs = 0;
    expect(await ensureRecognizer({ missing: () => undefined, install: async () => ++runs })).toBeUndefined();
    expect(runs).toBe(0);
  });

  test("missing and installable: runs the setup once and rechecks", async () => {
    let installed = false;
    const lines: string[] = [];
    const result = await ensureRecognizer({
      missing: () => (installed ? undefined : MISSING),
      canInstall: () => true,
      install: async () => ((installed = true), 0),
      log: (line) => lines.push(line),
    });
    expect(result).toBeUndefined();
    expect(lines).toEqual([`[recognizer] ${MISSING}: installing (scripts/recognizer-setup.sh)`]);
  });

  test("missing and not installable (no root or no apt-get): the reason and the one command that would fix it", async () => {
    const result = await ensureRecognizer({ missing: () => MISSING, canInstall: () => false, install: async () => 0 });
    expect(result).toBe(`${MISSING}; to enable it: sudo bash scripts/recognizer-setup.sh`);
  });

  test("the real check on this machine agrees with the files", async () => {
    // No install runs here: only the files are looked at.
    const result = await ensureRecognizer({ canInstall: () => false });
    if (recognizerMissing()) expect(result).toContain("to enable it: sudo bash scripts/recognizer-setup.sh");
    else expect(result).toBeUndefined();
  });
});
