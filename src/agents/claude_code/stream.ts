/**
 * Claude Code's `stream-json` lines turned into common events (`src/agents/events.ts`). Only this file
 * knows the shapes of its events: `system/init`, `system/api_retry`, `system/permission_denied`,
 * `assistant` and `user` messages, and the final `result` object.
 *
 * @module
 */
import type { AgentEvent, Denial, FinalResult, Usage } from "../events.ts";
import { EDIT_TOOLS } from "./args.ts";
import { jsonObject } from "../refusal.ts";

/** One line of stream-json, parsed; `null` for a line that is not a JSON object. */
export type StreamEvent = Record<string, unknown> & { type?: string; subtype?: string };

export function parseEventLine(line: string): StreamEvent | null {
  return jsonObject(line);
}

/** Reads `permission_denials` from a result object, tolerating odd shapes. */
export function denialsFromResult(result: Record<string, unknown>): Denial[] {
  const list = result.permission_denials;
  if (!Array.isArray(list)) return [];
  return list.filter((d) => d && typeof d === "object").map((d) => ({
    tool: String(d.tool_name ?? d.tool ?? "unknown"),
    input: d.tool_input ?? d.input ?? null,
    ...(typeof d.tool_use_id === "string" ? { tool_use_id: d.tool_use_id } : {}),
  }));
}

/** The tool calls in an `assistant` event's message content. */
export function toolUses(event: StreamEvent): { id: string; name: string; input: unknown }[] {
  const content = (event.message as { content?: unknown } | undefined)?.content;
  if (!Array.isArray(content)) return [];
  return content.filter((c) => c?.type === "tool_use").map((c) => ({
    id: String(c.id ?? ""),
    name: String(c.name ?? "unknown"),
    input: c.input,
  }));
}

/** The tool results in a `user` event: which call each answers, whether it failed, and its text. */
export function toolResults(event: StreamEvent): { tool_use_id: string; is_error: boolean; text: string }[] {
  const content = (event.message as { content?: unknown } | undefined)?.content;
  if (!Array.isArray(content)) return [];
  return content.filter((c) => c?.type === "tool_result").map((c) => ({
    tool_use_id: String(c.tool_use_id ?? ""),
    is_error: c.is_error === true,
    text: typeof c.content === "string"
      ? c.content
      : Array.isArray(c.content)
      ? c.content.map((p: { text?: string }) => p?.text ?? "").join(" ")
      : "",
  }));
}

const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * A `result` object as a common final result. Fields of the wrong shape (a `usage` that is a list, a
 * non-numeric cost) are listed in `malformed`: such a result is never taken as a success. On `--resume`,
 * Claude Code's `total_cost_usd` is the session's running total while `usage` is the run's own: `cost_usd`
 * is left null here and the runner works out the run's own cost from the session's earlier runs.
 */
export function finalResult(r: Record<string, unknown>, rawLine: string): FinalResult {
  const malformed: string[] = [];
  const opt = <T>(name: string, ok: (v: unknown) => boolean): T | null => {
    const v = r[name];
    if (v === undefined || v === null) return null;
    if (!ok(v)) {
      malformed.push(name);
      return null;
    }
    return v as T;
  };
  const usage = opt<Record<string, unknown>>("usage", isObj);
  let counts: Usage | null = null;
  if (usage) {
    counts = {};
    for (const [k, v] of Object.entries(usage)) {
      if (isNum(v)) counts[k] = v;
      else if (k.endsWith("_tokens")) malformed.push(`usage.${k}`);
    }
  }
  if (r.is_error !== undefined && typeof r.is_error !== "boolean") malformed.push("is_error");
  if (r.permission_denials !== undefined && !Array.isArray(r.permission_denials)) {
    malformed.push("permission_denials");
  }
  const subtype = typeof r.subtype === "string" ? r.subtype : "";
  const errors = Array.isArray(r.errors) ? r.errors.map(String) : [];
  return {
    ok: r.is_error !== true && !subtype.startsWith("error"),
    subtype,
    text: opt<string>("result", (v) => typeof v === "string"),
    session_id: opt<string>("session_id", (v) => typeof v === "string"),
    num_turns: opt<number>("num_turns", isNum),
    cost_usd: null,
    reported_cost_usd: opt<number>("total_cost_usd", isNum),
    usage: counts,
    api_error_status: opt<number>("api_error_status", isNum),
    errors,
    denials: denialsFromResult(r),
    stop_reason: opt<string>("stop_reason", (v) => typeof v === "string"),
    duration_ms: opt<number>("duration_ms", isNum),
    ...(malformed.length ? { malformed } : {}),
    ...(r.structured_output !== undefined ? { structured_output: r.structured_output } : {}),
    raw_line: rawLine,
  };
}

/**
 * A parser for one run's stdout. It keeps one piece of state: the id of the last model message, since one
 * model response comes as one `assistant` event per content block, all with the same message id.
 *
 * @example
 * ```ts
 * const parse = claudeParser();
 * parse('{"type":"system","subtype":"init","session_id":"s1","model":"m"}');
 * // [{ kind: "session", session_id: "s1", model: "m" }]
 * ```
 */
export function claudeParser(): (line: string) => AgentEvent[] {
  let lastMessageId: unknown = null;
  return (line) => {
    const ev = parseEventLine(line);
    if (!ev) return [{ kind: "garbage" }];
    if (ev.type === "system") {
      if (ev.subtype === "init") {
        if (typeof ev.session_id !== "string") return [{ kind: "other" }];
        return [{
          kind: "session",
          session_id: ev.session_id,
          ...(typeof ev.model === "string" ? { model: ev.model } : {}),
          ...(typeof ev.permissionMode === "string" ? { permission_mode: ev.permissionMode } : {}),
        }];
      }
      if (ev.subtype === "api_retry") {
        return [{
          kind: "retry",
          message: String(ev.error_status ?? ev.error ?? ""),
          ...(typeof ev.attempt === "number" || typeof ev.attempt === "string"
            ? { attempt: ev.attempt }
            : {}),
          ...(typeof ev.max_retries === "number" || typeof ev.max_retries === "string"
            ? { max: ev.max_retries }
            : {}),
          ...(typeof ev.retry_delay_ms === "number" ? { delay_ms: ev.retry_delay_ms } : {}),
        }];
      }
      if (ev.subtype === "permission_denied") {
        return [{
          kind: "denial",
          denial: {
            tool: String(ev.tool_name ?? "tool"),
            input: ev.tool_input ?? null,
            ...(typeof ev.tool_use_id === "string" ? { tool_use_id: ev.tool_use_id } : {}),
            ...(typeof ev.message === "string" ? { reason: ev.message } : {}),
          },
        }];
      }
      return [{ kind: "other" }];
    }
    if (ev.type === "assistant") {
      const out: AgentEvent[] = [];
      const id = (ev.message as { id?: unknown } | undefined)?.id;
      if (id === undefined || id !== lastMessageId) {
        out.push({ kind: "turn", ...(typeof ev.uuid === "string" ? { uuid: ev.uuid } : {}) });
      } else if (typeof ev.uuid === "string") {
        // A later block of the same response: the resume point moves on, the turn count does not.
        out.push({ kind: "turn", uuid: ev.uuid, continues: true });
      }
      lastMessageId = id;
      const content = (ev.message as { content?: unknown } | undefined)?.content;
      if (Array.isArray(content)) {
        for (const c of content) {
          if (c?.type === "text" && typeof c.text === "string") out.push({ kind: "text", text: c.text });
        }
      }
      for (const use of toolUses(ev)) {
        const input = use.input as Record<string, unknown> | undefined;
        const writes = EDIT_TOOLS.includes(use.name) && typeof input?.file_path === "string"
          ? input.file_path
          : undefined;
        out.push({ kind: "tool_use", ...use, ...(writes ? { writes } : {}) });
      }
      return out;
    }
    if (ev.type === "user") {
      return toolResults(ev).map((r) => ({
        kind: "tool_result",
        id: r.tool_use_id,
        is_error: r.is_error,
        text: r.text,
      }));
    }
    if (ev.type === "result") return [{ kind: "result", result: finalResult(ev, line) }];
    return [{ kind: "other" }];
  };
}
