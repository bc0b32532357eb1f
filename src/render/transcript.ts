/**
 * A run's transcript (`<run id>-events.jsonl`, Claude Code's stream-json events) for a person: what the
 * assistant said, each tool call with its main argument, tool errors, denials, retries and the final
 * result. One event gives zero or more lines, so a transcript can be rendered as it is being written.
 */
import { describeToolUse, parseEventLine, toolResults, toolUses } from "../runner/claude_code.ts";
import { dollars, seconds } from "./format.ts";

const MAX_TEXT = 2000;
const MAX_ERROR = 300;

function clip(text: string, max: number): string {
  const t = text.trim();
  return t.length > max ? t.slice(0, max) + ` [... ${t.length - max} more characters]` : t;
}

function indented(prefix: string, text: string): string[] {
  return text.split("\n").map((l, i) => (i === 0 ? prefix : " ".repeat(prefix.length)) + l);
}

/**
 * Renders one transcript line; a line that is not an event is shown as it is.
 *
 * @example
 * ```ts
 * renderEvent('{"type":"assistant","message":{"content":[{"type":"tool_use","name":"Bash","input":{"command":"ls"}}]}}');
 * // ["-> Bash ls"]
 * ```
 */
export function renderEvent(line: string): string[] {
  if (line.trim() === "") return [];
  const ev = parseEventLine(line);
  if (!ev) return [`(not an event) ${clip(line, 200)}`];
  if (ev.type === "system") {
    if (ev.subtype === "init") {
      return [
        `== session ${ev.session_id ?? "?"} (${ev.model ?? "default model"}, ${
          ev.permissionMode ?? "?"
        } mode)`,
      ];
    }
    if (ev.subtype === "permission_denied") {
      return [
        `   DENIED ${describeToolUse(String(ev.tool_name ?? "tool"), ev.tool_input)}` +
        (typeof ev.message === "string" ? `: ${clip(ev.message, MAX_ERROR)}` : ""),
      ];
    }
    if (ev.subtype === "api_retry") {
      return [
        `   API error ${ev.error_status ?? ev.error ?? ""}; retry ${ev.attempt ?? "?"}/${
          ev.max_retries ?? "?"
        }`,
      ];
    }
    return [];
  }
  if (ev.type === "assistant") {
    const content = (ev.message as { content?: unknown } | undefined)?.content;
    const out: string[] = [];
    if (Array.isArray(content)) {
      for (const c of content) {
        if (c?.type === "text" && typeof c.text === "string" && c.text.trim()) {
          out.push(...indented("assistant: ", clip(c.text, MAX_TEXT)));
        }
      }
    }
    for (const use of toolUses(ev)) out.push(`-> ${describeToolUse(use.name, use.input)}`);
    return out;
  }
  if (ev.type === "user") {
    return toolResults(ev).filter((e) => e.is_error).map((e) =>
      `   tool error: ${clip(e.text.replace(/\s+/g, " "), MAX_ERROR)}`
    );
  }
  if (ev.type === "result") {
    const status = ev.is_error === true ? "ERROR" : String(ev.subtype ?? "done").toUpperCase();
    const denials = Array.isArray(ev.permission_denials) ? ev.permission_denials.length : 0;
    const out = [
      `== result: ${status} (${ev.num_turns ?? "-"} turns, ${seconds(ev.duration_ms as number)}, ` +
      `${dollars(ev.total_cost_usd as number)}${denials ? `, ${denials} denied` : ""})`,
    ];
    if (typeof ev.result === "string" && ev.result.trim()) {
      out.push(...indented("   ", clip(ev.result, MAX_TEXT)));
    }
    if (Array.isArray(ev.errors)) {
      for (const e of ev.errors) out.push(`   error: ${clip(String(e), MAX_ERROR)}`);
    }
    return out;
  }
  return [];
}
