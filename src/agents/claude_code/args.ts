/**
 * Claude Code's argument list for one headless, streaming run.
 *
 * @module
 */
import type { PermissionMode } from "../agent.ts";
import { isSessionId } from "../../store/project.ts";

/** What one Claude Code invocation should do; built by the commands, turned into argv here. */
export interface ClaudeInvocation {
  session: { mode: "new" | "resume"; id: string };
  permission: PermissionMode;
  model?: string;
  maxTurns?: number;
  maxBudgetUsd?: number;
  allowedTools?: string[];
  disallowedTools?: string[];
  appendSystemPrompt?: string;
  /** Extra `--settings` JSON (Claude Code's own Bash sandbox, for example). */
  settings?: Record<string, unknown>;
  /** A JSON Schema the final answer must satisfy (`--json-schema`). */
  jsonSchema?: Record<string, unknown>;
  /** Paths its file tools must never write: one deny rule per edit tool and path (dispatch-cc's records). */
  protectedPaths?: string[];
  /**
   * With a resumed session: continue from this entry (an `assistant` event's uuid) instead of the end, so
   * that a failed turn after it is left out (hidden CLI flag `--resume-session-at`, checked with 2.1.328).
   */
  resumeSessionAt?: string;
}

/**
 * The argument list for a headless, streaming run. The prompt is never in argv (the kernel caps one
 * argument at 128 KiB and argv shows in `ps`): it goes on standard input, which `-p` reads.
 *
 * @example
 * ```ts
 * buildClaudeArgs({ session: { mode: "new", id: crypto.randomUUID() }, permission: "acceptEdits" });
 * // ["-p", "--output-format", "stream-json", "--verbose", "--permission-mode", "acceptEdits", "--session-id=…"]
 * ```
 *
 * Session ids and the resume point are single `--flag=value` elements (checked with 2.1.328): a value can
 * never be read as a flag of its own. They are UUIDs or the build throws: `--resume` also accepts a
 * session *title*, and these values may come back from files a run could have rewritten. (`--dry-run`
 * shows placeholders such as `<new-session-id>`, which no file can supply.)
 */
export function buildClaudeArgs(inv: ClaudeInvocation): string[] {
  const args = ["-p", "--output-format", "stream-json", "--verbose", "--permission-mode", inv.permission];
  if (!isUuidOrPlaceholder(inv.session.id)) {
    throw new Error(`not a session id: ${JSON.stringify(inv.session.id)}`);
  }
  args.push(`${inv.session.mode === "new" ? "--session-id" : "--resume"}=${inv.session.id}`);
  if (inv.session.mode === "resume" && inv.resumeSessionAt) {
    if (!isUuidOrPlaceholder(inv.resumeSessionAt)) {
      throw new Error(`not an event uuid: ${JSON.stringify(inv.resumeSessionAt)}`);
    }
    args.push(`--resume-session-at=${inv.resumeSessionAt}`);
  }
  if (inv.model) args.push("--model", inv.model);
  if (inv.maxTurns !== undefined) args.push("--max-turns", String(inv.maxTurns));
  if (inv.maxBudgetUsd !== undefined) args.push("--max-budget-usd", String(inv.maxBudgetUsd));
  if (inv.appendSystemPrompt) args.push("--append-system-prompt", inv.appendSystemPrompt);
  // One flag per tool: the lists are variadic in the CLI, and a flag before each value keeps a pattern
  // like "Bash(npm test:*)" from being read as anything else.
  for (const tool of inv.allowedTools ?? []) args.push("--allowedTools", tool);
  for (const tool of inv.disallowedTools ?? []) args.push("--disallowedTools", tool);
  if (inv.jsonSchema) args.push("--json-schema", JSON.stringify(inv.jsonSchema));
  for (const rule of protectedRules(inv.protectedPaths ?? [])) args.push("--disallowedTools", rule);
  if (inv.settings) args.push("--settings", JSON.stringify(inv.settings));
  return args;
}

/** Claude Code's tools that write files, whose deny rules take a path pattern. */
export const EDIT_TOOLS: readonly string[] = ["Write", "Edit", "MultiEdit", "NotebookEdit"];

/**
 * Deny rules keeping the file tools out of `paths` (absolute folders) and everything below them. Claude
 * Code reads a rule path starting with `//` as absolute (one `/` is relative to the settings' folder).
 */
export function protectedRules(paths: readonly string[]): string[] {
  return paths.flatMap((p) => {
    const abs = "/" + p.replace(/\/+$/, "");
    return EDIT_TOOLS.map((tool) => `${tool}(${abs}/**)`);
  });
}

/** Claude Code's Bash sandbox: Bash only in the project, no network, no way out of it, fail if missing. */
export const CLAUDE_SANDBOX_SETTINGS = {
  sandbox: {
    enabled: true,
    autoAllowBashIfSandboxed: true,
    allowUnsandboxedCommands: false,
    failIfUnavailable: true,
  },
};

const isUuidOrPlaceholder = (v: string) => isSessionId(v) || /^<[a-z -]+>$/.test(v);
