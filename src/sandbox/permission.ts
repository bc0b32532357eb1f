import { UsageError } from "../errors.ts";

/** Claude Code's permission modes, from least to most permissive (the order the ceiling uses). */
export const PERMISSION_MODES = [
  "plan",
  "dontAsk",
  "default",
  "acceptEdits",
  "auto",
  "bypassPermissions",
] as const;
export type PermissionMode = typeof PERMISSION_MODES[number];

/** Spellings the earlier bash tool accepted, mapped to Claude Code's mode names. */
const ALIASES: Record<string, PermissionMode> = {
  "dangerously-skip-permissions": "bypassPermissions",
  "bypass": "bypassPermissions",
};

/**
 * Reads a permission mode as a user may write it (`--permission`, `DISPATCH_PERMISSION`, a task file).
 *
 * @example
 * ```ts
 * parsePermission("dangerously-skip-permissions", "--permission"); // "bypassPermissions"
 * ```
 */
export function parsePermission(value: string, source: string): PermissionMode {
  const v = value.trim();
  if ((PERMISSION_MODES as readonly string[]).includes(v)) return v as PermissionMode;
  if (v in ALIASES) return ALIASES[v];
  throw new UsageError(
    `${source}: unknown permission mode "${value}" (expected one of: ${PERMISSION_MODES.join(", ")})`,
  );
}

/** How permissive a mode is; higher allows more. */
export function permissionRank(mode: PermissionMode): number {
  return PERMISSION_MODES.indexOf(mode);
}

/** The ceiling when `DISPATCH_MAX_PERMISSION` is not set. */
export const DEFAULT_CEILING: PermissionMode = "acceptEdits";

/** What {@linkcode checkCeiling} needs to know about one request. */
export interface CeilingCheck {
  /** The mode asked for. */
  requested: PermissionMode;
  /** The highest mode allowed without `--allow-dangerous` (`DISPATCH_MAX_PERMISSION`). */
  ceiling: PermissionMode;
  /** `--allow-dangerous` was given on the command line (never from a task file). */
  allowDangerous: boolean;
  /** Where the mode came from, for the message: "--permission", "task.yaml:4:13 permission", ... */
  source: string;
}

/**
 * Refuses a permission mode above the ceiling unless `--allow-dangerous` was given on the command line.
 * Run, resume and review check their mode with it before anything is written; `apply` checks every mode a
 * task file asks for (first step, follow-ups, review) the same way, before the first step runs.
 *
 * @example
 * ```ts
 * checkCeiling({ requested: "bypassPermissions", ceiling: "acceptEdits", allowDangerous: false,
 *   source: "task.yaml:3:13 permission" }); // throws UsageError (exit 2)
 * ```
 */
export function checkCeiling(c: CeilingCheck): void {
  if (permissionRank(c.requested) <= permissionRank(c.ceiling) || c.allowDangerous) return;
  throw new UsageError(
    `${c.source} asks for permission mode ${c.requested}, above the ceiling ${c.ceiling} ` +
      `(DISPATCH_MAX_PERMISSION); nothing was run. To allow it for this run, add --allow-dangerous to the ` +
      `dispatch-cc command line (a task file cannot), preferably with --sandbox; or raise DISPATCH_MAX_PERMISSION.`,
  );
}

/**
 * Claude Code refuses `bypassPermissions` when it runs as root unless it believes it is sandboxed; it
 * then exits 1 with a terse message. Say so before starting it: as root, that mode needs the OS sandbox
 * (which sets IS_SANDBOX=1 inside bubblewrap, and only there).
 *
 * @example
 * ```ts
 * checkRootBypass("bypassPermissions", "none", 0); // throws UsageError: use --sandbox
 * ```
 */
export function checkRootBypass(
  mode: PermissionMode,
  sandbox: "none" | "bwrap" | "claude",
  uid: number | null,
) {
  if (mode !== "bypassPermissions" || uid !== 0 || sandbox === "bwrap") return;
  throw new UsageError(
    `permission bypassPermissions as root needs the OS sandbox: Claude Code refuses it as root ` +
      `outside one${sandbox === "claude" ? " (its own Bash sandbox does not cover Write/Edit)" : ""}. ` +
      `Add --sandbox (bubblewrap), or run dispatch-cc as a normal user, or use --permission acceptEdits.`,
  );
}
