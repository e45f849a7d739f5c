/**
 * Deepgram's pre-recorded response from a session's messages: the finals in audio order joined into one
 * alternative (their words and a duration-weighted confidence), and the closing Metadata as `metadata`, with the request's tags
 * and extra echoed as Deepgram echoes them.
 */
import type { DeepgramOptions } from "./params.ts";

interface Word {
  word: string;
  start: number;
  end: number;
  confidence: number;
  punctuated_word?: string;
}

interface Final {
  type: "Results";
  is_final: boolean;
  start: number;
  duration: number;
  channel: { alternatives: Array<{ transcript: string; confidence: number; words: Word[] }> };
}

/** The batch response body for a session that closed normally. */
export function batchResponse(messages: ReadonlyArray<Record<string, unknown>>, options: DeepgramOptions, requestId: string) {
  // In audio order: a short utterance's final can arrive before a longer, earlier one's.
  const finals = messages
    .filter((m): m is Record<string, unknown> & Final => m.type === "Results" && m.is_final === true)
    .sort((a, b) => a.start - b.start);
  const alternatives = finals.map((f) => f.channel.alternatives[0]!).filter((a) => a.transcript.trim() !== "");
  const closing = [...messages].reverse().find((m) => m.type === "Metadata" && typeof m.duration === "number" && "model_info" in m) ?? {};
  const totalS = finals.reduce((sum, f) => sum + f.duration, 0);
  const confidence =
    totalS > 0
      ? finals.reduce((sum, f) => sum + f.duration * f.channel.alternatives[0]!.confidence, 0) / totalS
      : alternatives.length > 0
        ? 1
        : 0;
  const { type: _type, ...metadata } = closing as Record<string, unknown>;
  return {
    metadata: {
      transaction_key: "deprecated",
      request_id: requestId,
      sha256: "",
      created: new Date().toISOString(),
      duration: 0,
      channels: 1,
      models: [] as string[],
      model_info: {} as Record<string, unknown>,
      ...metadata,
      ...(options.tags.length > 0 ? { tags: options.tags } : {}),
      ...(Object.keys(options.extra).length > 0 ? { extra: options.extra } : {}),
    },
    results: {
      channels: [
        {
          alternatives: [
            {
              transcript: alternatives.map((a) => a.transcript.trim()).join(" "),
              confidence: Math.round(confidence * 1000) / 1000,
              words: alternatives.flatMap((a) => a.words),
            },
          ],
        },
      ],
    },
  };
}
