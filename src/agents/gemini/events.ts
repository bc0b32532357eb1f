/**
 * Gemini's `-o stream-json` lines turned into common events (checked with @google/gemini-cli 0.61.0):
 * `init{session_id, model}`, `message{role, content, delta}`, `tool_use{tool_name, tool_id, parameters}`,
 * `tool_result{tool_id, status, output, error{type, message}}`, `result{status, error, stats}`.
 */
import type { RunContext } from "../agent.ts";
import type { AgentEvent, Denial, FinalResult, Usage } from "../events.ts";
import { count, type Json, jsonObject, refusalLine } from "../refusal.ts";

/** Tools Gemini leaves out headless unless its approval mode allows them (a call to one is a refusal). */
const GATED_TOOLS = new Set(["write_file", "replace", "edit", "run_shell_command", "web_fetch"]);
/** Tools that write their `file_path` when they succeed. */
const WRITE_TOOLS = new Set(["write_file", "replace", "edit"]);

/**
 * Gemini's run statistics in Claude Code's usage names: `input` is the uncached input, `cached` the cached
 * part (Gemini's `input_tokens` counts both). The statistics cover this run only, resumed or not.
 */
export function geminiUsage(stats: unknown): Usage | null {
  if (!stats || typeof stats !== "object") return null;
  const s = stats as Json;
  const cached = count(s.cached);
  return {
    input_tokens: typeof s.input === "number" ? count(s.input) : Math.max(0, count(s.input_tokens) - cached),
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
    output_tokens: count(s.output_tokens),
  };
}

/** The HTTP status in Gemini's error text (`[API Error: {"error":{"code":500,...`), or null. */
export function geminiStatusIn(text: string): number | null {
  const m = text.match(/"code"\s*:\s*([45]\d\d)\b/) ?? text.match(/\bstatus(?: code)?:?\s*([45]\d\d)\b/i);
  return m ? Number(m[1]) : null;
}

/**
 * Gemini exits with an API error's HTTP status modulo 256 (500 -> 244, 429 -> 173, 400 -> 144) after a
 * `result` with status `error`: the status back from such an exit code, or null.
 *
 * @example
 * ```ts
 * geminiStatusFromExit(244); // 500
 * ```
 */
export function geminiStatusFromExit(code: number | null): number | null {
  return code !== null && code >= 144 && code <= 255 ? code + 256 : null;
}

/** A refusal in a failed tool result: by the approval mode, or Gemini's own workspace check. */
function refusal(name: string, input: unknown, id: string, error: Json): Denial | null {
  const type = String(error?.type ?? "");
  const reason = String(error?.message ?? "").slice(0, 300);
  if (type === "policy_violation") return { tool: name, input, tool_use_id: id, reason };
  if (type === "tool_not_registered" && GATED_TOOLS.has(name)) {
    return { tool: name, input, tool_use_id: id, reason: `not offered in this approval mode: ${reason}` };
  }
  if (type === "invalid_tool_params" && /not in workspace|outside the allowed workspace/i.test(reason)) {
    return { tool: name, input, tool_use_id: id, source: "agent_sandbox", reason };
  }
  return null;
}

/** A line parser for one Gemini run. */
export function geminiParser(ctx?: RunContext): (line: string) => AgentEvent[] {
  let sessionId: string | null = null;
  let text = "";
  let turns = 0;
  let inTurn = false;
  const uses = new Map<string, { name: string; input: unknown }>();

  return (line: string): AgentEvent[] => {
    if (line.trim() === "") return [];
    const ev = jsonObject(line);
    if (!ev || typeof ev.type !== "string") return [{ kind: "garbage" }];
    const beginTurn = (): AgentEvent[] => {
      if (inTurn) return [];
      inTurn = true;
      turns++;
      return [{ kind: "turn" }];
    };
    switch (ev.type) {
      case "init":
        // Every session line goes to the fold (another id is an integrity problem there); the result names the
        // first one.
        if (typeof ev.session_id !== "string") return [{ kind: "other" }];
        sessionId ??= ev.session_id;
        return [{
          kind: "session",
          session_id: ev.session_id,
          ...(typeof ev.model === "string" ? { model: ev.model } : {}),
        }];
      case "message": {
        if (ev.role !== "assistant") {
          inTurn = false;
          return [{ kind: "other" }];
        }
        const out = beginTurn();
        const content = typeof ev.content === "string" ? ev.content : "";
        text = ev.delta === true ? text + content : content;
        return [...out, { kind: "text", text: content }];
      }
      case "tool_use": {
        const id = String(ev.tool_id ?? "");
        const name = String(ev.tool_name ?? "unknown");
        uses.set(id, { name, input: ev.parameters ?? null });
        // The final answer is the text after the last tool call.
        text = "";
        const path = (ev.parameters as { file_path?: unknown } | undefined)?.file_path;
        const writes = WRITE_TOOLS.has(name) && typeof path === "string" ? { writes: path } : {};
        return [...beginTurn(), { kind: "tool_use", id, name, input: ev.parameters ?? null, ...writes }];
      }
      case "tool_result": {
        inTurn = false;
        const id = String(ev.tool_id ?? "");
        const use = uses.get(id) ?? { name: "unknown", input: null };
        const failed = ev.status !== "success";
        const out: AgentEvent[] = [];
        const output = typeof ev.output === "string" ? ev.output : String(ev.error?.message ?? "");
        out.push({ kind: "tool_result", id, is_error: failed, text: output });
        const denied = failed ? refusal(use.name, use.input, id, ev.error) : null;
        if (denied) out.push({ kind: "denial", denial: denied });
        // Inside dispatch-cc's OS sandbox a refused write shows only in the command's output (Gemini reports
        // the call as a success): a denial by that sandbox.
        const refused = ctx?.osSandbox && !denied ? refusalLine(output) : null;
        if (refused) {
          out.push({
            kind: "denial",
            denial: { tool: use.name, input: use.input, tool_use_id: id, source: "sandbox", reason: refused },
          });
        }
        return out;
      }
      case "result": {
        const ok = ev.status === "success";
        const message = typeof ev.error?.message === "string" ? ev.error.message : null;
        const result: FinalResult = {
          ok,
          // Its turn limit (settings model.maxSessionTurns; exit 53) is Claude Code's error_max_turns.
          subtype: ok
            ? "success"
            : ev.error?.type === "FatalTurnLimitedError"
            ? "error_max_turns"
            : `error${ev.error?.type ? `:${ev.error.type}` : ""}`,
          text: ok ? text : null,
          session_id: sessionId,
          num_turns: turns,
          cost_usd: null,
          reported_cost_usd: null,
          usage: geminiUsage(ev.stats),
          api_error_status: message ? geminiStatusIn(message) : null,
          errors: ok ? [] : [message ?? `Gemini CLI reported ${JSON.stringify(ev.status)}`],
          denials: [],
          stop_reason: null,
          raw_line: line,
        };
        return [{ kind: "result", result }];
      }
      default:
        return [{ kind: "other" }];
    }
  };
}
