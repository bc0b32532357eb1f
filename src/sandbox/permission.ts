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
