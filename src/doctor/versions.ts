/**
 * The specialist CLI versions the tests ran against (tests/support pins the same ones), and reading a
 * version out of a program's `--version` answer.
 *
 * @module
 */

/** The versions tested: Claude Code, Codex CLI, Gemini CLI. */
export const TESTED_VERSIONS = { claude: "2.1.328", codex: "0.171.0", gemini: "0.61.0" } as const;

/**
 * The first dotted version number in a text ("2.1.328 (Claude Code)", "codex-cli 0.171.0").
 *
 * @example
 * ```ts
 * firstVersion("codex-cli 0.171.0"); // "0.171.0"
 * ```
 */
export function firstVersion(text: string): string | null {
  return text.match(/\b(\d+\.\d+(?:\.\d+)?)(?:[-+][0-9A-Za-z.-]+)?\b/)?.[1] ?? null;
}

/**
 * Compares dotted versions numerically: negative when a < b, 0 when equal, positive when a > b.
 *
 * @example
 * ```ts
 * compareVersions("2.1.9", "2.1.328") < 0; // true
 * ```
 */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
