/**
 * Codex's `exec --json` lines turned into common events (checked with @openai/codex 0.171.0):
 * `thread.started{thread_id}`, `turn.started`, `item.started` / `item.completed` (`agent_message`,
 * `command_execution`, `file_change`, `mcp_tool_call`, `web_search`, `reasoning`, `error`, ...),
 * `turn.completed{usage}`, `turn.failed{error}`, `error{message}`.
 */
import type { RunContext } from "../agent.ts";
import type { AgentEvent, FinalResult, Usage } from "../events.ts";
import { count, type Json, jsonObject, refusalLine } from "../refusal.ts";
import { codexSandbox } from "./args.ts";

/** Codex's usage fields (`turn.completed.usage`, the session log's `total_token_usage`). */
export interface CodexUsage {
  input_tokens: number;
  cached_input_tokens: number;
  cache_write_input_tokens: number;
  output_tokens: number;
  reasoning_output_tokens: number;
}

export function codexUsage(u: unknown): CodexUsage | null {
  if (!u || typeof u !== "object") return null;
  const o = u as Json;
  return {
    input_tokens: count(o.input_tokens),
    cached_input_tokens: count(o.cached_input_tokens),
    cache_write_input_tokens: count(o.cache_write_input_tokens),
    output_tokens: count(o.output_tokens),
    reasoning_output_tokens: count(o.reasoning_output_tokens),
  };
}

/**
 * Codex's figures in Claude Code's usage names. OpenAI's `input_tokens` includes the cached ones, Claude
 * Code's does not: `input_tokens` is the uncached part, `cache_read_input_tokens` the cached part.
 *
 * @example
 * ```ts
 * claudeUsage({ input_tokens: 100, cached_input_tokens: 30, cache_write_input_tokens: 0, output_tokens: 5,
 *   reasoning_output_tokens: 2 });
 * // { input_tokens: 70, cache_creation_input_tokens: 0, cache_read_input_tokens: 30, output_tokens: 5,
 * //   reasoning_output_tokens: 2 }
 * ```
 */
export function claudeUsage(u: CodexUsage): Usage {
  return {
    input_tokens: Math.max(0, u.input_tokens - u.cached_input_tokens),
    cache_creation_input_tokens: u.cache_write_input_tokens,
    cache_read_input_tokens: u.cached_input_tokens,
    output_tokens: u.output_tokens,
    reasoning_output_tokens: u.reasoning_output_tokens,
  };
}

/** `after - before`, field by field; null when a field went down (not the same thread's running total). */
export function usageSince(after: CodexUsage, before: CodexUsage): CodexUsage | null {
  const keys = Object.keys(after) as (keyof CodexUsage)[];
  if (keys.some((k) => after[k] < before[k])) return null;
  return Object.fromEntries(keys.map((k) => [k, after[k] - before[k]])) as unknown as CodexUsage;
}

/** A status code in an error text ("unexpected status 401 Unauthorized", "status: 429"), or null. */
export function statusIn(text: string): number | null {
  const m = text.match(/\b(?:status(?: code)?:?|http)\s*([45]\d\d)\b/i);
  return m ? Number(m[1]) : null;
}

/** Codex passes an API error body on as its message: the API's own text from it, else the message. */
export function apiMessage(message: string): string {
  const body = jsonObject(message);
  const inner = body?.error?.message ?? body?.message;
  return typeof inner === "string" && inner.trim() !== "" ? inner : message;
}

const TOOL_ITEMS = new Set(["command_execution", "file_change", "mcp_tool_call", "web_search"]);

/**
 * A line parser for one Codex run. `ctx.notes.usageBefore` (from `beforeRun`, on a resumed thread) makes the
 * result's tokens this run's own: Codex reports the thread's running total after a resume.
 * `ctx.notes.streamDenied` collects the commands the stream showed refused, so that `afterRun` does not
 * count them twice.
 */
export function codexParser(ctx?: RunContext): (line: string) => AgentEvent[] {
  // Writes can be refused by Codex's own sandbox, or (inside --sandbox, where Codex's is off) by the OS one.
  const sandboxed = ctx?.osSandbox === true || codexSandbox(ctx?.permission ?? "default") !== null;
  const refuser = ctx?.osSandbox ? "sandbox" as const : "agent_sandbox" as const;
  let sessionId: string | null = null;
  let lastText: string | null = null;
  let lastError: string | null = null;
  let turns = 0;
  const started = new Set<string>();
  const streamDenied: string[] = [];
  if (ctx) ctx.notes = { ...ctx.notes, streamDenied };

  const result = (fields: Partial<FinalResult>, raw: string): AgentEvent => ({
    kind: "result",
    result: {
      ok: false,
      subtype: "error",
      text: lastText,
      session_id: sessionId,
      num_turns: turns,
      cost_usd: null,
      reported_cost_usd: null,
      usage: null,
      api_error_status: null,
      errors: [],
      denials: [],
      stop_reason: null,
      raw_line: raw,
      ...fields,
    },
  });

  const toolUse = (item: Json): AgentEvent[] => {
    const id = String(item.id ?? "");
    if (started.has(id)) return [];
    started.add(id);
    turns++;
    if (item.type === "command_execution") {
      return [{ kind: "tool_use", id, name: "shell", input: { command: String(item.command ?? "") } }];
    }
    // A patch's calls, one per file, come with its completion.
    if (item.type === "file_change") return [];
    if (item.type === "mcp_tool_call") {
      return [{
        kind: "tool_use",
        id,
        name: `mcp:${item.server ?? "?"}/${item.tool ?? "?"}`,
        input: item.arguments,
      }];
    }
    return [{ kind: "tool_use", id, name: String(item.type), input: { query: item.query } }];
  };

  const completed = (item: Json): AgentEvent[] => {
    const id = String(item.id ?? "");
    const out = toolUse(item);
    if (item.type === "command_execution") {
      const text = String(item.aggregated_output ?? "");
      const failed = item.status === "failed" || (typeof item.exit_code === "number" && item.exit_code !== 0);
      out.push({ kind: "tool_result", id, is_error: failed, text });
      const refused = sandboxed ? refusalLine(text) : null;
      if (refused) {
        const command = String(item.command ?? "");
        streamDenied.push(command);
        out.push({
          kind: "denial",
          denial: {
            tool: "shell",
            input: { command },
            tool_use_id: id,
            source: refuser,
            reason: refused,
          },
        });
      }
    } else if (item.type === "file_change") {
      // One patch may change several files: one tool call per file, each with the file it writes.
      const changes: Json[] = Array.isArray(item.changes) ? item.changes : [];
      const failed = item.status === "failed";
      changes.forEach((c, i) => {
        const path = String(c?.path ?? "");
        const kind = String(c?.kind ?? "update");
        const part = `${id}:${i}`;
        out.push({
          kind: "tool_use",
          id: part,
          name: "apply_patch",
          input: { file_path: path, kind },
          ...(kind !== "delete" && path ? { writes: path } : {}),
        });
        out.push({ kind: "tool_result", id: part, is_error: failed, text: `${kind} ${path}` });
      });
    } else {
      const err = item.error?.message ?? (item.status === "failed" ? "failed" : null);
      out.push({ kind: "tool_result", id, is_error: err !== null, text: err ?? "" });
    }
    return out;
  };

  return (line: string): AgentEvent[] => {
    if (line.trim() === "") return [];
    const ev = jsonObject(line);
    if (!ev || typeof ev.type !== "string") return [{ kind: "garbage" }];
    switch (ev.type) {
      case "thread.started":
        // Every session line goes to the fold (another id is an integrity problem there); the result names the
        // first one.
        if (typeof ev.thread_id !== "string") return [{ kind: "other" }];
        sessionId ??= ev.thread_id;
        return [{ kind: "session", session_id: ev.thread_id }];
      case "turn.started":
        return [{ kind: "turn" }];
      case "item.started": {
        const item = ev.item as Json | undefined;
        return item && TOOL_ITEMS.has(item.type) ? toolUse(item) : [{ kind: "other" }];
      }
      case "item.completed": {
        const item = ev.item as Json | undefined;
        if (!item) return [{ kind: "other" }];
        if (item.type === "agent_message") {
          turns++;
          if (typeof item.text !== "string") return [{ kind: "other" }];
          lastText = item.text;
          return [{ kind: "text", text: item.text }];
        }
        return TOOL_ITEMS.has(item.type) ? completed(item) : [{ kind: "other" }];
      }
      case "error": {
        const message = String(ev.message ?? "");
        if (/^Reconnecting\b/i.test(message)) return [{ kind: "retry", message }];
        lastError = message;
        return [{ kind: "other" }];
      }
      case "turn.completed": {
        const reported = codexUsage(ev.usage);
        const before = ctx?.notes?.usageBefore as CodexUsage | null | undefined;
        let usage: Usage | null = null;
        let reportedUsage: Usage | null = null;
        if (reported) {
          if (ctx?.session.mode !== "resume") usage = claudeUsage(reported);
          else {
            // The thread's total: this run's share is the difference from the total before the start.
            const own = before ? usageSince(reported, before) : null;
            usage = own ? claudeUsage(own) : null;
            reportedUsage = claudeUsage(reported);
          }
        }
        return [result({ ok: true, subtype: "success", usage, reported_usage: reportedUsage }, line)];
      }
      case "turn.failed": {
        const message = apiMessage(String(ev.error?.message ?? lastError ?? "Codex reported a failed turn"));
        return [result({ text: null, errors: [message], api_error_status: statusIn(message) }, line)];
      }
      default:
        return [{ kind: "other" }];
    }
  };
}
