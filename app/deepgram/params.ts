/**
 * Deepgram's live query parameters on `/v1/listen`, beyond the gateway's own (sessionId, encoding,
 * sample_rate, channels, language in app/session/query.ts). Each parameter Deepgram documents is in exactly
 * one list: honoured, accepted as a no-op, or refused with a 400 naming it; the README's "Coming from
 * Deepgram" table is the same three lists.
 */
import type { ModelTable } from "./models.ts";

/** What a Deepgram client asked for, validated. */
export interface DeepgramOptions {
  interimResults: boolean;
  vadEvents: boolean;
  utteranceEndMs: number | undefined;
  /** ms of silence that ends an utterance; `false`: none; undefined: the backend's default. */
  endpointingMs: number | false | undefined;
  /** The backend model (`model` mapped through the table); undefined: TRANSCRIBE_MODEL. */
  model: string | undefined;
  /** `tag` values, in order (echoed in the closing Metadata and the pre-recorded metadata). */
  tags: string[];
  /** `extra=key:value` pairs, echoed likewise. */
  extra: Record<string, string>;
}

/** Parameters the gateway acts on. */
export const HONOURED = [
  "model",
  "interim_results",
  "vad_events",
  "utterance_end_ms",
  "endpointing",
  "encoding",
  "sample_rate",
  "channels",
  "language",
  "tag",
  "extra",
] as const;

/** Parameters accepted and ignored: the backend has no such switch (its output is punctuated and formatted already). */
export const NO_OPS = [
  "punctuate",
  "smart_format",
  "numerals",
  "profanity_filter",
  "dictation",
  "filler_words",
  "diarize",
  "diarize_model",
  "detect_entities",
  "keywords",
  "keyterm",
  "search",
  "replace",
  "mip_opt_out",
  "version",
  "alternatives",
  "tier",
] as const;

/** Parameters refused when switched on: honouring them is impossible here, and ignoring them would break a promise. */
export const REFUSED = {
  callback: "callback: results are only sent on the WebSocket (no callback URLs)",
  callback_method: "callback_method: results are only sent on the WebSocket (no callback URLs)",
  multichannel: "multichannel: channels are transcribed downmixed to one; multichannel=true is not supported",
  redact: "redact: redaction is not supported; remove the parameter",
} as const satisfies Record<string, string>;

const BOOLEAN = /^(true|false)$/;

/** Deepgram's options from the query, or the one-line reason they are refused. */
export function parseDeepgramQuery(
  params: URLSearchParams,
  models: ModelTable,
): { ok: true; options: DeepgramOptions } | { ok: false; message: string } {
  for (const [name, message] of Object.entries(REFUSED)) {
    const value = params.get(name);
    if (value === null || value === "" || value === "false") continue;
    return { ok: false, message };
  }
  const flags: Record<string, boolean> = {};
  for (const name of ["interim_results", "vad_events"]) {
    const value = params.get(name);
    if (value !== null && !BOOLEAN.test(value))
      return { ok: false, message: `${name}: expected true or false, got "${value.slice(0, 32)}"` };
    flags[name] = value === "true";
  }
  const utterance = params.get("utterance_end_ms");
  let utteranceEndMs: number | undefined;
  if (utterance !== null) {
    utteranceEndMs = /^\d{1,5}$/.test(utterance) ? Number(utterance) : Number.NaN;
    if (!(utteranceEndMs >= 1000 && utteranceEndMs <= 60_000)) {
      return {
        ok: false,
        message: `utterance_end_ms: expected an integer from 1000 to 60000 (milliseconds), got "${utterance.slice(0, 32)}"`,
      };
    }
  }
  const endpointing = params.get("endpointing");
  let endpointingMs: number | false | undefined;
  if (endpointing === "false") endpointingMs = false;
  else if (endpointing !== null && endpointing !== "true") {
    endpointingMs = /^\d{1,5}$/.test(endpointing) ? Number(endpointing) : Number.NaN;
    if (!(endpointingMs >= 0 && endpointingMs <= 10_000)) {
      return {
        ok: false,
        message: `endpointing: expected false or an integer from 0 to 10000 (milliseconds of silence), got "${endpointing.slice(0, 32)}"`,
      };
    }
  }
  const modelName = params.get("model");
  let model: string | undefined;
  if (modelName !== null && modelName !== "") {
    model = models.resolve(modelName);
    if (model === undefined)
      return { ok: false, message: `model: unknown model "${modelName.slice(0, 64)}"; expected one of ${models.describe()}` };
  }
  const extra: Record<string, string> = {};
  for (const pair of params.getAll("extra")) {
    const at = pair.indexOf(":");
    if (at <= 0) return { ok: false, message: `extra: expected key:value, got "${pair.slice(0, 64)}"` };
    extra[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return {
    ok: true,
    options: {
      interimResults: flags.interim_results!,
      vadEvents: flags.vad_events!,
      utteranceEndMs,
      endpointingMs,
      model,
      tags: params.getAll("tag"),
      extra,
    },
  };
}

/** The transcriber's query parameters for these options (appended to the session's own). */
export function deepgramUpstreamParams(options: DeepgramOptions, requestId: string): URLSearchParams {
  const params = new URLSearchParams({
    interim_results: String(options.interimResults),
    vad_events: String(options.vadEvents),
    request_id: requestId,
  });
  if (options.utteranceEndMs !== undefined) params.set("utterance_end_ms", String(options.utteranceEndMs));
  if (options.endpointingMs !== undefined) params.set("endpointing", String(options.endpointingMs));
  if (options.model !== undefined) params.set("model", options.model);
  for (const tag of options.tags) params.append("tag", tag);
  for (const [key, value] of Object.entries(options.extra)) params.append("extra", `${key}:${value}`);
  return params;
}
