/**
 * A transcription session's configuration: what `session.update` may change and what `session.created` /
 * `session.updated` report back, in the GA shape (`session.type: "transcription"`, `audio.input.*`).
 */
import type { RealtimeTranscriptionSessionCreateRequest } from "openai/resources/realtime/realtime";
import { SAMPLE_RATE_HZ } from "./buffer.ts";
import { DEFAULT_VAD, type VadOptions } from "./vad.ts";

export interface SessionConfig {
  model: string | undefined;
  language: string | undefined;
  prompt: string | undefined;
  /** null: turn detection off, the client commits. */
  vad: VadOptions | null;
}

/** Why an update was refused, as an `error` event's fields. */
export interface ConfigError {
  code: string;
  message: string;
  param: string;
}

export function initialConfig(vad: VadOptions, model?: string): SessionConfig {
  return { model, language: undefined, prompt: undefined, vad };
}

/** The session object of `session.created` / `session.updated`. */
export function sessionObject(config: SessionConfig): RealtimeTranscriptionSessionCreateRequest {
  const { vad } = config;
  return {
    type: "transcription",
    audio: {
      input: {
        format: { type: "audio/pcm", rate: SAMPLE_RATE_HZ },
        transcription: { model: config.model, language: config.language, prompt: config.prompt },
        turn_detection: vad && {
          type: "server_vad",
          threshold: vad.threshold,
          prefix_padding_ms: vad.prefixPaddingMs,
          silence_duration_ms: vad.silenceDurationMs,
        },
      },
    },
    include: [],
  };
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const invalid = (param: string, message: string): ConfigError => ({ code: "invalid_value", param, message });

/**
 * Applies a `session.update`'s `session` to `config`. Only fields present change; `turn_detection: null`
 * turns VAD off, and `semantic_vad` is served by the same energy VAD. All or nothing: an invalid field
 * leaves the config as it was.
 */
export function applySessionUpdate(config: SessionConfig, session: unknown): SessionConfig | ConfigError {
  if (!isObject(session)) return { code: "missing_required_parameter", param: "session", message: "Missing 'session'." };
  if (session.type !== undefined && session.type !== "transcription") {
    return invalid("session.type", `This is a transcription session; session.type must be 'transcription', got '${String(session.type)}'.`);
  }
  const audio = session.audio;
  const input = isObject(audio) && isObject(audio.input) ? audio.input : {};
  const next = { ...config };

  const format = input.format;
  if (isObject(format)) {
    if (format.type !== undefined && format.type !== "audio/pcm") {
      return invalid("session.audio.input.format.type", `The stand-in only takes 'audio/pcm', got '${String(format.type)}'.`);
    }
    if (format.rate !== undefined && format.rate !== SAMPLE_RATE_HZ) {
      return invalid("session.audio.input.format.rate", `Only ${SAMPLE_RATE_HZ} Hz is supported, got ${String(format.rate)}.`);
    }
  }

  if (isObject(input.transcription)) {
    const t = input.transcription;
    if (typeof t.model === "string") next.model = t.model;
    if (typeof t.language === "string") next.language = t.language;
    if (typeof t.prompt === "string") next.prompt = t.prompt;
  }

  if (input.turn_detection === null) next.vad = null;
  else if (isObject(input.turn_detection)) {
    const td = input.turn_detection;
    if (td.type !== "server_vad" && td.type !== "semantic_vad") {
      return invalid("session.audio.input.turn_detection.type", `Expected 'server_vad' or 'semantic_vad', got '${String(td.type)}'.`);
    }
    const base = config.vad ?? DEFAULT_VAD;
    const numberOr = (v: unknown, fallback: number, param: string, max: number): number | ConfigError =>
      v === undefined
        ? fallback
        : typeof v === "number" && v >= 0 && v <= max
          ? v
          : invalid(`session.audio.input.turn_detection.${param}`, `Expected a number in 0..${max}.`);
    const threshold = numberOr(td.threshold, base.threshold, "threshold", 1);
    const prefixPaddingMs = numberOr(td.prefix_padding_ms, base.prefixPaddingMs, "prefix_padding_ms", 10_000);
    const silenceDurationMs = numberOr(td.silence_duration_ms, base.silenceDurationMs, "silence_duration_ms", 10_000);
    for (const v of [threshold, prefixPaddingMs, silenceDurationMs]) if (typeof v !== "number") return v;
    next.vad = {
      threshold: threshold as number,
      prefixPaddingMs: prefixPaddingMs as number,
      silenceDurationMs: silenceDurationMs as number,
    };
  }
  return next;
}

export function isConfigError(v: SessionConfig | ConfigError): v is ConfigError {
  return "code" in v;
}
