/** Word error rate: word-level edit distance (substitutions, insertions, deletions) over reference words. */

/** Lower-case words without punctuation. */
export function words(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9' ]+/g, " ")
    .split(/\s+/)
    .filter(Boolean);
}

/** Edits turning `hypothesis` into `reference`, word by word (Levenshtein, one row at a time). */
export function wordErrors(reference: string[], hypothesis: string[]): number {
  let previous = Array.from({ length: hypothesis.length + 1 }, (_, j) => j);
  for (let i = 1; i <= reference.length; i++) {
    const row = [i];
    for (let j = 1; j <= hypothesis.length; j++) {
      const substitution = previous[j - 1]! + (reference[i - 1] === hypothesis[j - 1] ? 0 : 1);
      row.push(Math.min(substitution, previous[j]! + 1, row[j - 1]! + 1));
    }
    previous = row;
  }
  return previous[hypothesis.length]!;
}

/** Errors and reference length of each pair, and the overall rate (total errors / total reference words). */
export function wordErrorRate(pairs: Array<{ reference: string; hypothesis: string }>): { errors: number; words: number; rate: number } {
  let errors = 0;
  let total = 0;
  for (const pair of pairs) {
    const reference = words(pair.reference);
    errors += wordErrors(reference, words(pair.hypothesis));
    total += reference.length;
  }
  return { errors, words: total, rate: total === 0 ? 0 : errors / total };
}
