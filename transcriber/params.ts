/**
 * Query parameters of `WS /v1/listen`. Bad values are refused before the upgrade with a one-line reason.
 * Parameters we do not know (the gateway may add its own) are ignored.
 */

export type Encoding = "opus" | "linear16";

export interface ListenParams {
  encoding: Encoding;
  sampleRateHz: number;
  channels: number;
  language: string | undefined;
  sessionId: string | undefined;
}

const OPUS_RATES = [8000, 12000, 16000, 24000, 48000];
const SESSION_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** ISO 639-1/3 code, optionally with a region or script (`en`, `pt-BR`, `zh-Hant`). */
const LANGUAGE = /^[a-z]{2,3}(-[A-Za-z0-9]{2,4})?$/;

/** Parses the listen URL's query; returns the parameters or the reason they are refused. */
export function parseListenParams(query: URLSearchParams): ListenParams | { error: string } {
  const encoding = query.get("encoding") ?? "opus";
  if (encoding !== "opus" && encoding !== "linear16") {
    return { error: `encoding must be opus or linear16, got "${encoding.slice(0, 32)}"` };
  }
  const sampleRateHz = integerParam(query, "sample_rate", 48000);
  const rateOk =
    encoding === "opus" ? OPUS_RATES.includes(sampleRateHz) : sampleRateHz >= 8000 && sampleRateHz <= 192_000;
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
  return { encoding, sampleRateHz, channels, language, sessionId };
}

/** The parameter as an integer; NaN (refused by the range checks) when present but not an integer. */
function integerParam(query: URLSearchParams, name: string, fallback: number): number {
  const raw = query.get(name);
  if (raw === null || raw === "") return fallback;
  return /^\d{1,7}$/.test(raw) ? Number(raw) : Number.NaN;
}
