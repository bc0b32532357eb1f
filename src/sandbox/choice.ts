/**
 * Which OS-level sandbox a run gets, as chosen by flags, `DISPATCH_SANDBOX` or a task file's `sandbox:`.
 *
 * - `bwrap`: Claude Code as a whole runs under bubblewrap (its own root with the system's read-only tree,
 *   the project writable, its own state, private /tmp and /run, its own PID namespace; the network kept
 *   unless `network: false`, which leaves only the model API). Covers every tool. See bwrap.ts.
 * - `claude`: Claude Code's own Bash sandbox (`--settings {"sandbox":{...}}`): only Bash commands are
 *   confined, Write/Edit are not, and Bash has no network (loopback included). Needs bwrap and socat.
 * - `none`: Claude Code's permission mode is the only limit.
 *
 * The two cannot be combined: Claude Code's Bash sandbox fails inside ours ("Can't mount proc").
 */
import { UsageError } from "../errors.ts";

export const SANDBOX_KINDS = ["none", "bwrap", "claude"] as const;
export type SandboxKind = typeof SANDBOX_KINDS[number];

/** The sandbox of one run. `network` is whether commands in it may reach the network. */
export interface SandboxChoice {
  kind: SandboxKind;
  network: boolean;
}

export const NO_SANDBOX: SandboxChoice = { kind: "none", network: true };

/**
 * Reads `DISPATCH_SANDBOX`: `1`/`true`/`bwrap` (the OS sandbox), `nonet`/`bwrap-nonet` (also without
 * network), `claude` (Claude Code's Bash sandbox), `0`/`false`/`none`/empty (none).
 *
 * @example
 * ```ts
 * parseSandboxSetting("1", "DISPATCH_SANDBOX"); // { kind: "bwrap", network: true }
 * ```
 */
export function parseSandboxSetting(value: string | undefined, source: string): SandboxChoice {
  const v = (value ?? "").trim().toLowerCase();
  if (v === "" || v === "0" || v === "false" || v === "none" || v === "no") return NO_SANDBOX;
  if (v === "1" || v === "true" || v === "yes" || v === "bwrap") return { kind: "bwrap", network: true };
  if (v === "nonet" || v === "bwrap-nonet") return { kind: "bwrap", network: false };
  if (v === "claude") return { kind: "claude", network: false };
  throw new UsageError(
    `${source}: unknown sandbox setting ${JSON.stringify(value)} ` +
      `(expected 1 or bwrap, nonet, claude, 0 or none)`,
  );
}

/** The sandbox flags of run, resume and review. */
export interface SandboxFlags {
  /** `--sandbox`: bubblewrap around Claude Code. */
  sandbox?: boolean;
  /** `--claude-sandbox`: Claude Code's own Bash sandbox. */
  claudeSandbox?: boolean;
  /** `--no-sandbox`: none, whatever DISPATCH_SANDBOX or the task file say. */
  noSandbox?: boolean;
  /** `--no-network`: the OS sandbox without network (implies --sandbox). */
  noNetwork?: boolean;
}

/**
 * The sandbox for a run: the command line wins, then the task file (`spec`, as src/spec parses
 * `sandbox:` into `{enabled, network}`), then `DISPATCH_SANDBOX` (`fallback`).
 *
 * @example
 * ```ts
 * resolveSandbox({ noNetwork: true }, undefined, NO_SANDBOX); // { kind: "bwrap", network: false }
 * resolveSandbox({}, { enabled: true, network: false }, NO_SANDBOX); // { kind: "bwrap", network: false }
 * ```
 */
export function resolveSandbox(
  flags: SandboxFlags,
  spec: { enabled: boolean; network: boolean } | undefined,
  fallback: SandboxChoice,
): SandboxChoice {
  const chosen = [
    flags.sandbox || flags.noNetwork ? "--sandbox/--no-network" : null,
    flags.claudeSandbox ? "--claude-sandbox" : null,
    flags.noSandbox ? "--no-sandbox" : null,
  ].filter((x) => x !== null);
  if (chosen.length > 1) {
    throw new UsageError(
      `choose one of ${chosen.join(", ")}: the OS sandbox (bubblewrap) and Claude Code's Bash sandbox ` +
        `do not nest (Bash fails inside both), and --no-sandbox turns both off`,
    );
  }
  if (flags.noSandbox) return NO_SANDBOX;
  if (flags.claudeSandbox) return { kind: "claude", network: false };
  if (flags.sandbox || flags.noNetwork) return { kind: "bwrap", network: !flags.noNetwork };
  if (spec !== undefined) return spec.enabled ? { kind: "bwrap", network: spec.network } : NO_SANDBOX;
  return fallback;
}

/** One line for people: what the sandbox confines. */
export function describeSandbox(s: SandboxChoice): string {
  if (s.kind === "bwrap") {
    return `bubblewrap: sees only the system's read-only tree, PATH, the CLI, the project (writable; its ` +
      `.dispatch-logs read-only) and Claude Code's own state for this project; private /tmp and /run, own ` +
      `PID namespace; writes anywhere else are kept from the host and reported; network ` +
      (s.network ? "on" : "off (only the model API, through a forwarder)");
  }
  if (s.kind === "claude") {
    return "Claude Code's Bash sandbox: Bash commands write only in the project and have no network; " +
      "Write/Edit are limited by the permission mode only";
  }
  return "none: the permission mode is the only limit (add --sandbox to confine writes to the project)";
}
