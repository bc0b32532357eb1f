/**
 * The Gemini CLI's argument list for a headless run (checked with @google/gemini-cli 0.61.0). The prompt is
 * never in argv: with stdin not a terminal Gemini runs headless and reads the prompt from it (up to 8 MiB;
 * `-p` would put it in argv). `--session-id` lets dispatch-cc assign a new session's id.
 */
import type { AgentInvocation } from "../agent.ts";

const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isGeminiSessionId = (id: string): boolean => SESSION_ID.test(id);
/** What `--dry-run` shows for an id not known yet (`<new-session-id>`): no file can supply one. */
const PLACEHOLDER = /^<[a-z -]+>$/;

export type GeminiApprovalMode = "plan" | "default" | "auto_edit" | "yolo";

/**
 * Gemini's approval mode for each dispatch-cc permission mode. Headless, Gemini registers only the tools its
 * mode allows without asking: `default` offers read tools only, `auto_edit` adds the file-edit tools but NOT
 * the shell tool, `yolo` offers everything, `plan` is read-only (plans aside).
 *
 * @example
 * ```ts
 * geminiApprovalMode("acceptEdits"); // "auto_edit"
 * ```
 */
export function geminiApprovalMode(mode: string): GeminiApprovalMode {
  if (mode === "plan") return "plan";
  if (mode === "acceptEdits" || mode === "auto") return "auto_edit";
  if (mode === "bypassPermissions") return "yolo";
  return "default";
}

/**
 * The argv after `gemini` for one run. Session ids are checked to be UUIDs (they come back from files a run
 * could rewrite) and passed as single `--flag=value` elements. `--skip-trust` trusts the working directory
 * (the project) for this run only, nothing else and nothing saved.
 *
 * @example
 * ```ts
 * buildGeminiArgs({ session: { mode: "new", id: "11111111-2222-4333-8444-555555555555" },
 *   permission: "acceptEdits", projectDir: "/p", protectedPaths: [] });
 * // ["-o", "stream-json", "--skip-trust", "--approval-mode", "auto_edit",
 * //  "--session-id=11111111-2222-4333-8444-555555555555"]
 * ```
 */
export function buildGeminiArgs(inv: AgentInvocation): string[] {
  const id = inv.session.id;
  if (id === null || !(isGeminiSessionId(id) || PLACEHOLDER.test(id))) {
    throw new Error(`not a Gemini session id: ${JSON.stringify(id)}`);
  }
  const args = ["-o", "stream-json", "--skip-trust", "--approval-mode", geminiApprovalMode(inv.permission)];
  args.push(inv.session.mode === "new" ? `--session-id=${id}` : `--resume=${id}`);
  if (inv.model) args.push(`--model=${inv.model}`);
  return args;
}

/**
 * The text Gemini gets on stdin. It has no flag to add to its system prompt (GEMINI_SYSTEM_MD replaces it
 * whole): an appended system prompt goes before the prompt, marked as such.
 */
export function geminiStdin(inv: AgentInvocation, prompt: string): string {
  if (!inv.appendSystemPrompt) return prompt;
  return `<system-instructions>\n${inv.appendSystemPrompt}\n</system-instructions>\n\n${prompt}`;
}

/** Warnings for options of an invocation Gemini cannot honour from the command line. */
export function geminiUnsupported(inv: AgentInvocation): string[] {
  const out: string[] = [];
  if (inv.maxTurns !== undefined) {
    out.push(
      "Gemini CLI has no turn-limit flag: --max-turns is ignored (set model.maxSessionTurns in " +
        "GEMINI_CLI_HOME/.gemini/settings.json instead)",
    );
  }
  if (inv.maxBudgetUsd !== undefined) {
    out.push("Gemini CLI reports tokens, not dollars: --max-budget-usd cannot be enforced and is ignored");
  }
  if ((inv.allowedTools?.length ?? 0) + (inv.disallowedTools?.length ?? 0) > 0) {
    out.push(
      "Gemini CLI takes no Claude Code tool lists: --allowed-tools/--disallowed-tools are ignored " +
        "(its approval mode, from --permission, is what limits it)",
    );
  }
  return out;
}
