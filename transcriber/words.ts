/**
 * Word timings for backends that give none (OpenAI's realtime transcription, the stand-in): the words of a
 * transcript spread over its span in proportion to their length in characters, so a longer word takes longer,
 * the first starts at the span's start and the last ends at its end. An estimate, and documented as one.
 */

/** One word as Deepgram reports it (seconds). */
export interface Word {
  word: string;
  start: number;
  end: number;
  confidence: number;
  punctuated_word: string;
}

const seconds = (ms: number) => Math.round(ms) / 1000;

/** The transcript's words over `startMs`..`endMs`; `word` is lower case without punctuation, `punctuated_word` as written. */
export function spreadWords(transcript: string, startMs: number, endMs: number, confidence: number): Word[] {
  const tokens = transcript.split(/\s+/).filter((token) => token !== "");
  const totalChars = tokens.reduce((sum, token) => sum + token.length, 0);
  const spanMs = endMs - startMs;
  let chars = 0;
  return tokens.map((token) => {
    const from = startMs + (spanMs * chars) / totalChars;
    chars += token.length;
    const to = startMs + (spanMs * chars) / totalChars;
    return { word: plain(token), start: seconds(from), end: seconds(to), confidence, punctuated_word: token };
  });
}

/** Deepgram's `word`: lower case, no punctuation around or inside (apostrophes and hyphens stay). */
export function plain(token: string): string {
  return token.toLowerCase().replace(/[^\p{L}\p{N}'-]/gu, "");
}
