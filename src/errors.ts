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

/** The user's environment refused a write: a full disk, a quota, a read-only or unwritable folder. */
export class EnvironmentError extends DispatchError {
  constructor(message: string) {
    super(message, EXIT.environment, "environment");
  }
}

/** What each refusal of the file system means for the user, by errno name. */
const ENVIRONMENT_CODES: Record<string, string> = {
  ENOSPC: "the disk is full",
  EDQUOT: "the disk quota is exhausted",
  EROFS: "the file system is read-only",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
};

/**
 * The one-line {@linkcode EnvironmentError} for a file system error the user's environment caused (disk
 * full, read-only, no write permission), or null for anything else (a bug stays an internal error).
 *
 * @example
 * ```ts
 * try { await Deno.writeTextFile(path, text); } catch (err) { throw environmentError(err) ?? err; }
 * ```
 */
export function environmentError(err: unknown): EnvironmentError | null {
  if (!(err instanceof Error) || err instanceof DispatchError) return null;
  const code = (err as { code?: unknown }).code;
  const byCode = typeof code === "string" ? ENVIRONMENT_CODES[code] : undefined;
  const denied = err instanceof Deno.errors.PermissionDenied && !(err instanceof Deno.errors.NotCapable);
  const what = byCode ?? (denied ? "permission denied" : undefined) ??
    (/No space left on device|Read-only file system|Disk quota exceeded/i.test(err.message)
      ? err.message.replace(/\s*\(os error \d+\).*$/s, "")
      : undefined);
  if (what === undefined) return null;
  // Deno's message names the operation and the path: "No space left on device (os error 28): write '/p/x'".
  const where = /: (\w+) '([^']*)'/.exec(err.message);
  const op = where ? `${where[1]} ${where[2]}` : "a file operation";
  return new EnvironmentError(
    `${op} failed: ${what}; free some space or make the folder writable, then try again`,
  );
}
