/**
 * A run's transcript (`<run id>-events.jsonl`, the CLI's own event lines) for a person: what the assistant
 * said, each tool call with its main argument, tool errors, denials, retries and the final result. Lines
 * are turned into common events by the run's agent (`src/agents/`); only common events are rendered here.
 * One line gives zero or more output lines, so a transcript can be rendered as it is being written.
 */
import type { LineParser } from "../agents/agent.ts";
import { type AgentEvent, describeToolUse } from "../agents/events.ts";
import { getAgent } from "../agents/registry.ts";

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
 * Renders one transcript line; a line that is not an event is shown as it is. `parse`: the run's agent's
 * parser (Claude Code's when absent).
 *
 * @example
 * ```ts
 * renderEvent('{"type":"assistant","message":{"content":[{"type":"tool_use","name":"Bash","input":{"command":"ls"}}]}}');
 * // ["-> Bash ls"]
 * ```
 */
export function renderEvent(line: string, parse: LineParser = getAgent().parser()): string[] {
  if (line.trim() === "") return [];
  return parse(line).flatMap((ev) => renderCommon(ev, line));
}

function renderCommon(ev: AgentEvent, line: string): string[] {
  switch (ev.kind) {
    case "garbage":
      return [`(not an event) ${clip(line, 200)}`];
    case "session":
      return [
        `== session ${ev.session_id} (${ev.model ?? "default model"}, ${ev.permission_mode ?? "?"} mode)`,
      ];
    case "denial":
      return [
        `   DENIED ${describeToolUse(ev.denial.tool, ev.denial.input)}` +
        (ev.denial.reason ? `: ${clip(ev.denial.reason, MAX_ERROR)}` : ""),
      ];
    case "retry":
      return [`   API error ${ev.message}; retry ${ev.attempt ?? "?"}/${ev.max ?? "?"}`];
    case "text":
      return ev.text.trim() ? indented("assistant: ", clip(ev.text, MAX_TEXT)) : [];
    case "tool_use":
      return [`-> ${describeToolUse(ev.name, ev.input)}`];
    case "tool_result":
      return ev.is_error ? [`   tool error: ${clip(ev.text.replace(/\s+/g, " "), MAX_ERROR)}`] : [];
    case "result": {
      const r = ev.result;
      const status = !r.ok ? "ERROR" : (r.subtype || "done").toUpperCase();
      const denials = r.denials.length;
      // Turns and denials only: the run's duration and its own cost are the record's (`logs` ends with them;
      // the CLI's figures differ: its clock, and on a resume the session's running total).
      const out = [
        `== result: ${status} (${r.num_turns ?? "-"} turns${denials ? `, ${denials} denied` : ""})`,
      ];
      if (r.text?.trim()) out.push(...indented("   ", clip(r.text, MAX_TEXT)));
      for (const e of r.errors) out.push(`   error: ${clip(e, MAX_ERROR)}`);
      return out;
    }
    default:
      return [];
  }
}
