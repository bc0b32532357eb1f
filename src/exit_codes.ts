/**
 * The exit codes of dispatch-cc: a stable, documented contract (README "Exit codes").
 *
 * @example
 * ```ts
 * import { EXIT } from "./exit_codes.ts";
 * Deno.exit(EXIT.lockHeld);
 * ```
 */
export const EXIT = {
  success: 0,
  /**
   * The specialist ran and failed: API error, error during execution, crash, garbage output. Also `doctor`:
   * something a default run needs is missing.
   */
  specialistError: 1,
  /** Bad command line or invalid input (slug, numbers, task file). Nothing was changed. */
  usage: 2,
  /** The project (or run) named does not exist. */
  notFound: 3,
  /** The run finished but Claude Code refused one or more tool calls. */
  blocked: 4,
  /** Another dispatch holds the project's lock. */
  lockHeld: 5,
  /** The run stopped at --max-turns or --max-budget-usd before finishing. */
  limitReached: 6,
  /** `wait` gave up while the run is still going. */
  stillRunning: 7,
  /** The run succeeded but its check (`--verify`, `verify:`) still failed after the last round. */
  verifyFailed: 8,
  /**
   * `merge` refused, nothing changed: the merge would conflict, the checkout has uncommitted changes to
   * tracked files, or it would overwrite untracked files.
   */
  mergeConflict: 9,
  /**
   * The run's outcome cannot be trusted: the CLI's output was added to after its final result, or named
   * another session (status `tampered`).
   */
  tampered: 10,
  /** dispatch-cc itself failed (a bug or an unexpected file system error). */
  internal: 70,
  /** The user's environment refused a write: disk full, quota, a read-only or unwritable folder. */
  environment: 74,
  /** The run was ended by --timeout / DISPATCH_TIMEOUT. */
  timeout: 124,
  /** The agent's CLI (Claude Code, Codex, Gemini) or the sandbox program could not be found or started. */
  notInstalled: 127,
  /** The run was interrupted (SIGINT / SIGTERM) or cancelled. */
  interrupted: 130,
} as const;

export type ExitCode = typeof EXIT[keyof typeof EXIT];
