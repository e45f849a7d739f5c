import { expect, test } from "bun:test";
import { plain, spreadWords } from "./words.ts";

test("words share the span in proportion to their length, first at its start, last at its end", () => {
  const words = spreadWords("a bbb", 1000, 2000, 0.9);
  expect(words).toEqual([
    { word: "a", punctuated_word: "a", start: 1, end: 1.25, confidence: 0.9 },
    { word: "bbb", punctuated_word: "bbb", start: 1.25, end: 2, confidence: 0.9 },
  ]);
});

test("an empty transcript has no words, and a zero-length span puts every word at its start", () => {
  expect(spreadWords("  ", 0, 500, 1)).toEqual([]);
  expect(spreadWords("one two", 700, 700, 1).map((w) => [w.start, w.end])).toEqual([
    [0.7, 0.7],
    [0.7, 0.7],
  ]);
});

test("`word` is lower case without punctuation; apostrophes, hyphens and digits stay", () => {
  expect(["Hello,", "don't!", "well-known.", "(42)", "Ça"].map(plain)).toEqual(["hello", "don't", "well-known", "42", "ça"]);
});
