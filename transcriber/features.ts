/**
 * Which optional messages a session sends, from the client's query (Deepgram's defaults: interims only with
 * interim_results=true, SpeechStarted only with vad_events=true, UtteranceEnd only with utterance_end_ms).
 * Every backend filters its messages through `wanted`, so the switches mean the same on each.
 */
import type { ClientMessage } from "./protocol.ts";

export interface SessionFeatures {
  interimResults: boolean;
  speechStarted: boolean;
  utteranceEnd: boolean;
  /** utterance_end_ms: the audio gap after the last final before UtteranceEnd (see utterance-end.ts). */
  utteranceEndGapMs?: number;
}

/** Everything on: what a session gets when no switch was passed (direct use, tests). */
export const ALL_FEATURES: SessionFeatures = { interimResults: true, speechStarted: true, utteranceEnd: true };

/** Whether `message` goes to a client that asked for `features`; messages not listed here always go. */
export function wanted(message: ClientMessage, features: SessionFeatures): boolean {
  if (message.type === "SpeechStarted") return features.speechStarted;
  if (message.type === "UtteranceEnd") return features.utteranceEnd;
  if (message.type === "Results" && !message.is_final) return features.interimResults;
  return true;
}
