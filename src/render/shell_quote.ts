/**
 * Quotes an argument for a POSIX shell when it needs it, so that a command line shown to people
 * (`--dry-run`) can be copied and run as it is.
 *
 * @example
 * ```ts
 * shellQuote("--allowedTools"); // --allowedTools
 * shellQuote("Bash(npm test:*)"); // 'Bash(npm test:*)'
 * shellQuote("it's"); // 'it'\''s'
 * ```
 */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}
