/**
 * Levenshtein distance between two strings (insertions, deletions and substitutions each cost 1).
 *
 * @example
 * ```ts
 * editDistance("promt", "prompt"); // 1
 * ```
 */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length];
}

/** Case, `-` and `_` are the usual slips (`allowed-tools`, `maxTurns`), so they do not count. */
function fold(word: string): string {
  return word.toLowerCase().replaceAll(/[-_]/g, "");
}

/**
 * The candidate closest to `word`, if it is close enough to be a plausible typo; for "did you mean X?".
 *
 * @example
 * ```ts
 * closestMatch("allowed-tools", ["allowed_tools", "model"]); // "allowed_tools"
 * closestMatch("banana", ["allowed_tools", "model"]); // undefined
 * ```
 */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = fold(word) === fold(candidate)
      ? 0
      : editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  const limit = Math.max(2, Math.floor(word.length / 3));
  return bestDistance <= limit ? best : undefined;
}
