/**
 * The prompt of a review that names none (`review` without --prompt, a task's `review: true`). A runner
 * module, so that task planning (src/spec) uses it without importing a command.
 *
 * @example
 * ```ts
 * const prompt = given ?? DEFAULT_REVIEW_PROMPT;
 * ```
 */
export const DEFAULT_REVIEW_PROMPT =
  `Review the work in this project independently, as a senior engineer who did not write it.
Read the code and documents, run nothing that changes files. Report:
1. Whether it does what CLAUDE.md and the code say it should; bugs and wrong behaviour, with file:line.
2. Security and robustness problems.
3. Missing tests and unclear or dead code.
Order the findings by severity and end with a one-line verdict: SHIP, FIX FIRST, or REWORK.`;
