// @ts-nocheck: TypeScript does not model the `type: "file"` import attribute (it types these imports as the
// modules themselves); Bun gives each one as a path string. This file holds only those imports.
/**
 * The demo page's files. `type: "file"` embeds each in a `bun build --compile` binary (the gateway image)
 * and gives its path there; under plain `bun` the path is the file on disk. Either way `readFileSync` reads it.
 */
import captureWorklet from "./capture-worklet.js" with { type: "file" };
import demoScript from "./demo.js" with { type: "file" };
import opusScript from "./opus.js" with { type: "file" };
import page from "./page.html" with { type: "file" };
// libopus-wasm's browser build: one ES module plus the generated module it imports (its WASM inlined).
import libopusIndex from "../../node_modules/libopus-wasm/dist/index.js" with { type: "file" };
import libopusGenerated from "../../node_modules/libopus-wasm/dist/generated/libopus.generated.mjs" with { type: "file" };

/** URL path under /demo -> embedded file path. */
export const DEMO_FILES: Readonly<Record<string, string>> = {
  "/demo": page,
  "/demo/demo.js": demoScript,
  "/demo/opus.js": opusScript,
  "/demo/capture-worklet.js": captureWorklet,
  "/demo/libopus/index.js": libopusIndex,
  "/demo/libopus/generated/libopus.generated.mjs": libopusGenerated,
};
