/**
 * Which build of libopus the transcriber should name in these tests: the native one where Debian's libopus0 is
 * installed (CI installs it, and REQUIRE_ENGINE=1 insists on it, as for the engine), libopus-wasm otherwise, so a
 * machine without the library still runs the suite on the fallback.
 */
import { nativeOpusMissing } from "../transcriber/opus-native.ts";

/** Why the native build cannot run here (printed when its tests skip), or undefined. */
export const nativeOpusSkipReason: string | undefined = process.env.REQUIRE_ENGINE === "1" ? undefined : nativeOpusMissing();

/** The `opus` value of /health and the start-up log line expected here. */
export const EXPECTED_OPUS_BUILD: RegExp = nativeOpusSkipReason ? /^wasm libopus \d/ : /^native libopus \d/;
