import { describe, expect, test } from "bun:test";
import { wordErrorRate, wordErrors, words } from "./wer.ts";

describe("word error rate", () => {
  test("counts substitutions, insertions and deletions once each", () => {
    expect(wordErrors(words("he was not an ill disposed young man"), words("he was not an ill disposed young man"))).toBe(0);
    expect(wordErrors(words("he was not"), words("she was not"))).toBe(1);
    expect(wordErrors(words("he was not"), words("he was not at all"))).toBe(2);
    expect(wordErrors(words("he was not"), words("not"))).toBe(2);
    expect(wordErrors(words("a b c"), [])).toBe(3);
  });

  test("is total errors over total reference words, ignoring case and punctuation", () => {
    const result = wordErrorRate([
      { reference: "He was not an ill-disposed young man.", hypothesis: "he was not until this blows young man" },
      { reference: "he might even", hypothesis: "he might even" },
    ]);
    // "an ill disposed" -> "until this blows": 3 substitutions, of 8 + 3 reference words.
    expect(result).toEqual({ errors: 3, words: 11, rate: 3 / 11 });
  });
});
