/**
 * Query parameters of `WS /v1/listen`. Bad values are refused before the upgrade with a one-line reason.
 * Parameters we do not know (the gateway may add its own) are ignored. The Deepgram ones default as Deepgram
 * does: no interim results, no SpeechStarted, no UtteranceEnd unless asked for.
 */

export type Encoding = "opus" | "linear16";

export interface ListenParams {
  encoding: Encoding;
  sampleRateHz: number;
  channels: number;
  language: string | undefined;
  sessionId: string | undefined;
  /** interim_results=true: Results with is_final false while an utterance is being transcribed. */
  interimResults: boolean;
  /** vad_events=true: SpeechStarted messages. */
  vadEvents: boolean;
  /** utterance_end_ms=N: UtteranceEnd once N ms of audio passed after a final with no new speech. */
  utteranceEndMs: number | undefined;
  /** endpointing: ms of silence that ends an utterance, `false` for none; undefined: the upstream's default. */
  endpointingMs: number | false | undefined;
  /** model: the transcription model for this session (the gateway maps Deepgram's names); undefined: TRANSCRIBE_MODEL. */
  model: string | undefined;
  /** request_id: the id the gateway gave the session (Results carry it); undefined: one is made up. */
  requestId: string | undefined;
  /** tag (repeatable) and extra=key:value (repeatable): echoed in the closing Metadata. */
  tags: string[];
  extra: Record<string, string>;
}

const OPUS_RATES = [8000, 12000, 16000, 24000, 48000];
const SESSION_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** At most this many tags and extras are echoed, each at most this long: they are labels, not payloads. */
const MAX_ECHOED = 32;
const MAX_ECHOED_CHARS = 128;
/** A transcription model's name as OpenAI spells them (`gpt-4o-transcribe`, `whisper-1`). */
const MODEL = /^[A-Za-z0-9._:-]{1,64}$/;
/** ISO 639-1/3 code, optionally with a region or script (`en`, `pt-BR`, `zh-Hant`). */
const LANGUAGE = /^[a-z]{2,3}(-[A-Za-z0-9]{2,4})?$/;

/** Parses the listen URL's query; returns the parameters or the reason they are refused. */
export function parseListenParams(query: URLSearchParams): ListenParams | { error: string } {
  const encoding = query.get("encoding") ?? "opus";
  if (encoding !== "opus" && encoding !== "linear16") {
    return { error: `encoding must be opus or linear16, got "${encoding.slice(0, 32)}"` };
  }
  const sampleRateHz = integerParam(query, "sample_rate", 48000);
  const rateOk = encoding === "opus" ? OPUS_RATES.includes(sampleRateHz) : sampleRateHz >= 8000 && sampleRateHz <= 192_000;
  if (!rateOk) {
    const accepted = encoding === "opus" ? OPUS_RATES.join(", ") : "an integer from 8000 to 192000";
    return { error: `sample_rate must be ${accepted} for ${encoding}, got "${query.get("sample_rate")?.slice(0, 32)}"` };
  }
  const channels = integerParam(query, "channels", 1);
  const maxChannels = encoding === "opus" ? 2 : 8;
  if (!(channels >= 1 && channels <= maxChannels)) {
    return { error: `channels must be 1 to ${maxChannels} for ${encoding}, got "${query.get("channels")?.slice(0, 32)}"` };
  }
  const language = query.get("language") || undefined;
  if (language !== undefined && !LANGUAGE.test(language)) {
    return { error: `language must be a language code like en or pt-BR, got "${language.slice(0, 32)}"` };
  }
  const sessionId = query.get("session_id") ?? query.get("sessionId") ?? undefined;
  if (sessionId !== undefined && !SESSION_ID.test(sessionId)) {
    return { error: "session_id must match [A-Za-z0-9._:-]{1,128}" };
  }
  const flags = {} as Record<"interimResults" | "vadEvents", boolean>;
  for (const [name, key] of [
    ["interim_results", "interimResults"],
    ["vad_events", "vadEvents"],
  ] as const) {
    const raw = query.get(name);
    if (raw !== null && raw !== "true" && raw !== "false") return { error: `${name} must be true or false, got "${raw.slice(0, 32)}"` };
    flags[key] = raw === "true";
  }
  const utteranceEnd = query.get("utterance_end_ms");
  const utteranceEndMs = utteranceEnd === null ? undefined : integerParam(query, "utterance_end_ms", Number.NaN);
  if (utteranceEndMs !== undefined && !(utteranceEndMs >= 0 && utteranceEndMs <= 60_000)) {
    return { error: `utterance_end_ms must be an integer from 0 to 60000, got "${utteranceEnd?.slice(0, 32)}"` };
  }
  const endpointing = query.get("endpointing");
  const endpointingMs =
    endpointing === null || endpointing === "true"
      ? undefined
      : endpointing === "false"
        ? false
        : integerParam(query, "endpointing", Number.NaN);
  if (typeof endpointingMs === "number" && !(endpointingMs >= 0 && endpointingMs <= 10_000)) {
    return { error: `endpointing must be false or an integer from 0 to 10000, got "${endpointing?.slice(0, 32)}"` };
  }
  const model = query.get("model") || undefined;
  if (model !== undefined && !MODEL.test(model)) return { error: `model must be a model name, got "${model.slice(0, 32)}"` };
  const requestId = query.get("request_id") || undefined;
  if (requestId !== undefined && !SESSION_ID.test(requestId)) return { error: "request_id must match [A-Za-z0-9._:-]{1,128}" };
  const tags = query
    .getAll("tag")
    .slice(0, MAX_ECHOED)
    .map((tag) => tag.slice(0, MAX_ECHOED_CHARS));
  const extra: Record<string, string> = {};
  for (const pair of query.getAll("extra").slice(0, MAX_ECHOED)) {
    const at = pair.indexOf(":");
    if (at > 0) extra[pair.slice(0, at).slice(0, MAX_ECHOED_CHARS)] = pair.slice(at + 1).slice(0, MAX_ECHOED_CHARS);
  }
  return { encoding, sampleRateHz, channels, language, sessionId, ...flags, utteranceEndMs, endpointingMs, model, requestId, tags, extra };
}

/** The parameter as an integer; NaN (refused by the range checks) when present but not an integer. */
function integerParam(query: URLSearchParams, name: string, fallback: number): number {
  const raw = query.get(name);
  if (raw === null || raw === "") return fallback;
  return /^\d{1,7}$/.test(raw) ? Number(raw) : Number.NaN;
}
