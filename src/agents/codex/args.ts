/**
 * The Codex CLI's argument list for a headless run (`codex exec --json`), checked with @openai/codex 0.171.0.
 * The prompt is never in argv: `-` makes `codex exec` (and `codex exec resume <id> -`) read it from stdin.
 */
import type { AgentInvocation } from "../agent.ts";
import { UsageError } from "../../errors.ts";

/** A Codex thread id: a UUID (Codex 0.171 makes v7 ones). Anything else is never passed on. */
const THREAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isThreadId = (id: string): boolean => THREAD_ID.test(id);
/** What `--dry-run` shows for an id not known yet (`<new-session-id>`): no file can supply one. */
const PLACEHOLDER = /^<[a-z -]+>$/;

/** Codex's own sandbox policy for each dispatch-cc permission mode (null: no sandbox, no approvals). */
export type CodexSandbox = "read-only" | "workspace-write" | null;

/**
 * How a permission mode maps onto Codex's controls. `codex exec` never asks for approval; what a mode allows
 * is what its sandbox lets commands do:
 * - plan, default, dontAsk: `read-only` (reads and commands that only read; every write refused). Claude Code's
 *   `default` mode cannot ask anyone in a headless run either, so it allows only reads there too.
 * - acceptEdits, auto: `workspace-write` (writes in the project and the temp folders; no network).
 * - bypassPermissions: `--dangerously-bypass-approvals-and-sandbox` (everything, no sandbox).
 *
 * @example
 * ```ts
 * codexSandbox("acceptEdits"); // "workspace-write"
 * ```
 */
export function codexSandbox(mode: string): CodexSandbox {
  if (mode === "bypassPermissions") return null;
  if (mode === "acceptEdits" || mode === "auto") return "workspace-write";
  return "read-only";
}

/** A TOML basic string (what `-c key=value` parses); JSON's escapes are all valid TOML ones. */
const tomlString = (s: string) => JSON.stringify(s);

/**
 * The argv after `codex` for one run.
 *
 * @example
 * ```ts
 * buildCodexArgs({ session: { mode: "new", id: null }, permission: "acceptEdits", projectDir: "/p",
 *   protectedPaths: [] });
 * // ["exec", "--json", "--skip-git-repo-check", "-c", 'sandbox_mode="workspace-write"', "-"]
 * ```
 *
 * A resumed thread's id is checked to be a UUID (it comes back from files a run could rewrite) and is put after
 * `--`, so it can never be read as a flag. `--skip-git-repo-check`: projects need not be repositories.
 * Options Codex lacks (turn limit, budget, Claude Code tool lists) are in {@linkcode codexUnsupported}.
 */
export function buildCodexArgs(inv: AgentInvocation): string[] {
  const resume = inv.session.mode === "resume";
  if (
    resume && (inv.session.id === null || !(isThreadId(inv.session.id) || PLACEHOLDER.test(inv.session.id)))
  ) {
    throw new Error(`not a Codex thread id: ${JSON.stringify(inv.session.id)}`);
  }
  const args = ["exec", ...(resume ? ["resume"] : []), "--json", "--skip-git-repo-check"];
  const sandbox = codexSandbox(inv.permission);
  if (inv.osSandbox && sandbox === "read-only") {
    throw new UsageError(
      `Codex's read-only sandbox cannot run inside dispatch-cc's OS sandbox (--sandbox): both are bubblewrap, ` +
        `which does not nest, so every command would fail. Run --permission ${inv.permission} without ` +
        `--sandbox (Codex's own read-only sandbox confines it), or --sandbox with --permission acceptEdits.`,
    );
  }
  // `-s` exists on `exec` but not on `exec resume`; the config override works on both. Inside the OS
  // sandbox, that sandbox is the limit (writes only in the project): Codex's own, which cannot nest, is off.
  if (sandbox === null) args.push("--dangerously-bypass-approvals-and-sandbox");
  else if (inv.osSandbox) args.push("-c", `sandbox_mode="danger-full-access"`);
  else args.push("-c", `sandbox_mode=${tomlString(sandbox)}`);
  if (inv.model) args.push("-m", inv.model);
  if (inv.appendSystemPrompt) args.push("-c", `developer_instructions=${tomlString(inv.appendSystemPrompt)}`);
  if (resume) args.push("--", inv.session.id!, "-");
  else args.push("-");
  return args;
}

/** Warnings for options of an invocation Codex cannot honour. */
export function codexUnsupported(inv: AgentInvocation): string[] {
  const out: string[] = [];
  if (inv.maxTurns !== undefined) out.push("Codex has no turn limit: --max-turns is ignored");
  if (inv.maxBudgetUsd !== undefined) {
    out.push("Codex reports tokens, not dollars: --max-budget-usd cannot be enforced and is ignored");
  }
  if ((inv.allowedTools?.length ?? 0) + (inv.disallowedTools?.length ?? 0) > 0) {
    out.push(
      "Codex has no per-tool allow/deny lists: --allowed-tools/--disallowed-tools are ignored " +
        "(its sandbox mode, from --permission, is what limits it)",
    );
  }
  return out;
}
