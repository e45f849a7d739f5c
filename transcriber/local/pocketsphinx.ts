/**
 * pocketsphinx 5prealpha (Debian's libpocketsphinx3) through bun:ffi: one decoder per session, fed 16 kHz
 * mono int16, a partial hypothesis after every chunk and `ps_get_in_speech` as the endpointer. The library is
 * opened once per process; decoders are pooled by the caller (model load took 0.4-1.0 s here).
 */
import { CString, dlopen, FFIType, type Pointer, ptr } from "bun:ffi";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type Recognizer, RecognizerFailedError } from "./recognizer.ts";

/** Where Debian puts the libraries (and where the image carries them). */
export const POCKETSPHINX_LIBRARY = "/usr/lib/x86_64-linux-gnu/libpocketsphinx.so.3";
export const SPHINXBASE_LIBRARY = "/usr/lib/x86_64-linux-gnu/libsphinxbase.so.3";
/** Debian's pocketsphinx-en-us model directory (and the image's). */
export const DEFAULT_MODEL_DIR = "/usr/share/pocketsphinx/model/en-us";

/**
 * Only the first (tree) search pass: the flat-lexicon and best-path passes run at the end of each utterance
 * and stalled the session there for up to 0.4-0.5 s (audio queues meanwhile); without them, on the LibriVox
 * clips, the end costs 50-100 ms and the word error rate was 26.8 % instead of 31.0 %.
 */
export const STREAMING_ARGS: readonly string[] = ["-fwdflat", "no", "-bestpath", "no"];

/** The recognizer's files are missing or unusable; the message names the file and the fix. */
export class RecognizerUnavailableError extends Error {
  override name = "RecognizerUnavailableError";
}

/** The Debian packages that provide the files, for messages. */
export const RECOGNIZER_PACKAGES = "libpocketsphinx3 pocketsphinx-en-us";

type Library = ReturnType<typeof openLibraries>;
let library: Library | undefined;

function openLibraries() {
  const base = dlopen(SPHINXBASE_LIBRARY, {
    cmd_ln_parse_r: { args: [FFIType.ptr, FFIType.ptr, FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.ptr },
    cmd_ln_free_r: { args: [FFIType.ptr], returns: FFIType.i32 },
    err_set_logfp: { args: [FFIType.ptr], returns: FFIType.void },
  });
  const ps = dlopen(POCKETSPHINX_LIBRARY, {
    ps_args: { args: [], returns: FFIType.ptr },
    ps_init: { args: [FFIType.ptr], returns: FFIType.ptr },
    ps_free: { args: [FFIType.ptr], returns: FFIType.i32 },
    ps_start_utt: { args: [FFIType.ptr], returns: FFIType.i32 },
    ps_process_raw: { args: [FFIType.ptr, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    ps_end_utt: { args: [FFIType.ptr], returns: FFIType.i32 },
    ps_get_hyp: { args: [FFIType.ptr, FFIType.ptr], returns: FFIType.ptr },
    ps_get_in_speech: { args: [FFIType.ptr], returns: FFIType.u8 },
  });
  // sphinxbase logs every configuration value and per-utterance statistics to stderr; NULL silences it.
  base.symbols.err_set_logfp(null);
  return { ...base.symbols, ...ps.symbols };
}

function lib(): Library {
  if (library) return library;
  for (const file of [SPHINXBASE_LIBRARY, POCKETSPHINX_LIBRARY]) {
    if (!existsSync(file)) {
      throw new RecognizerUnavailableError(`local recognizer: ${file} is missing (Debian: apt-get install -y ${RECOGNIZER_PACKAGES})`);
    }
  }
  library = openLibraries();
  return library;
}

/** The model files a decoder loads from `modelDir`; throws naming the first one missing. */
export function modelFiles(modelDir: string): { hmm: string; lm: string; dict: string } {
  const files = { hmm: join(modelDir, "en-us"), lm: join(modelDir, "en-us.lm.bin"), dict: join(modelDir, "cmudict-en-us.dict") };
  for (const file of Object.values(files)) {
    if (!existsSync(file)) {
      throw new RecognizerUnavailableError(`LOCAL_MODEL_DIR: ${file} is missing (Debian: apt-get install -y pocketsphinx-en-us)`);
    }
  }
  return files;
}

/** One pocketsphinx decoder (a Recognizer); sessions borrow it from a RecognizerPool. */
export class PocketsphinxDecoder implements Recognizer {
  #lib: Library;
  #ps: Pointer;
  #config: Pointer;
  #scoreOut = new Int32Array(1);
  /** The argv strings, kept as long as the configuration in case sphinxbase keeps pointers into them. */
  #argv: Buffer[];

  /**
   * Loads the model in `modelDir` (see modelFiles) with pocketsphinx options `extraArgs`; throws
   * RecognizerUnavailableError when it cannot.
   */
  constructor(modelDir: string, extraArgs: readonly string[] = STREAMING_ARGS) {
    this.#lib = lib();
    const files = modelFiles(modelDir);
    const args = ["-hmm", files.hmm, "-lm", files.lm, "-dict", files.dict, ...extraArgs];
    this.#argv = args.map((arg) => Buffer.from(`${arg}\0`, "utf8"));
    const argv = new BigUint64Array(this.#argv.map((s) => BigInt(ptr(s))));
    const config = this.#lib.cmd_ln_parse_r(null, this.#lib.ps_args(), args.length, ptr(argv), 1);
    if (!config) throw new RecognizerUnavailableError(`local recognizer: pocketsphinx refused its configuration (${args.join(" ")})`);
    this.#config = config as Pointer;
    const ps = this.#lib.ps_init(config);
    if (!ps) {
      this.#lib.cmd_ln_free_r(config);
      throw new RecognizerUnavailableError(`local recognizer: pocketsphinx could not load the model in ${modelDir}`);
    }
    this.#ps = ps as Pointer;
  }

  /** See Recognizer. */
  startUtterance(): void {
    if (this.#lib.ps_start_utt(this.#ps) < 0) throw new RecognizerFailedError("pocketsphinx could not start an utterance (ps_start_utt)");
  }

  /** Feeds 16 kHz mono samples (pocketsphinx copies them before returning). */
  process(pcm: Int16Array): void {
    if (pcm.length === 0) return;
    if (this.#lib.ps_process_raw(this.#ps, ptr(pcm), pcm.length, 0, 0) < 0)
      throw new RecognizerFailedError("pocketsphinx could not process audio (ps_process_raw)");
  }

  /** See Recognizer. */
  endUtterance(): void {
    this.#lib.ps_end_utt(this.#ps);
  }

  /** Whether the endpointer hears speech now. */
  get inSpeech(): boolean {
    return this.#lib.ps_get_in_speech(this.#ps) !== 0;
  }

  /** The best hypothesis so far ("" before any word). */
  hypothesis(): string {
    const text = this.#lib.ps_get_hyp(this.#ps, ptr(this.#scoreOut));
    return text ? new CString(text).toString() : "";
  }

  /** Frees the decoder and its configuration. */
  free(): void {
    this.#lib.ps_free(this.#ps);
    this.#lib.cmd_ln_free_r(this.#config);
  }
}
