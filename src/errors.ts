import { EXIT, type ExitCode } from "./exit_codes.ts";

/**
 * Every error a user can cause: a one-line message that says what was wrong and what to do, and an exit
 * code from the documented table. `main.ts` renders these; anything else is a bug (exit 70).
 *
 * @example
 * ```ts
 * throw new UsageError("--timeout must be a positive number of seconds, got \"abc\"");
 * ```
 */
export class DispatchError extends Error {
  constructor(message: string, readonly exitCode: ExitCode, readonly kind: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad command line or input. */
export class UsageError extends DispatchError {
  constructor(message: string) {
    super(message, EXIT.usage, "usage");
  }
}

/** A project, run or file the user named does not exist. */
export class NotFoundError extends DispatchError {
  constructor(message: string) {
    super(message, EXIT.notFound, "not_found");
  }
}

/** The project's lock is held by another live dispatch. */
export class LockHeldError extends DispatchError {
  constructor(message: string, readonly holder?: Record<string, unknown>) {
    super(message, EXIT.lockHeld, "lock_held");
  }
}

/** Claude Code (or another program dispatch-cc needs) is missing. */
export class NotInstalledError extends DispatchError {
  constructor(message: string) {
    super(message, EXIT.notInstalled, "not_installed");
  }
}

/** The user interrupted dispatch-cc (SIGINT/SIGTERM) before a run started. */
export class InterruptedError extends DispatchError {
  constructor(message: string) {
    super(message, EXIT.interrupted, "interrupted");
  }
}

/**
 * `merge` refused with nothing changed (exit 9): `kind` says why ("merge_conflict", "dirty_checkout",
 * "would_overwrite"), `files` which files.
 */
export class MergeRefusedError extends DispatchError {
  constructor(message: string, kind: string, readonly files: string[]) {
    super(message, EXIT.mergeConflict, kind);
  }
}
