/**
 * The common events every specialist CLI's stream is turned into (one agent folder per CLI does the
 * turning; nothing outside `src/agents/` knows a CLI's own event shapes). The runner folds these with a
 * pure function into a run's outcome; the transcript keeps the CLI's own lines.
 *
 * Contract for agent authors: an agent's line parser returns zero or more of these per stdout line, in
 * order. Fields are additive: a new field is optional, an existing one keeps its meaning.
 */

/** A tool call the agent's permission layer (or its own sandbox) refused. */
export interface Denial {
  tool: string;
  input: unknown;
  tool_use_id?: string;
  /** Who refused: the permission mode (absent), dispatch-cc's OS sandbox, or the agent's own sandbox. */
  source?: "sandbox" | "agent_sandbox";
  /** The refused path, where one is known. */
  path?: string;
  reason?: string;
}

/** Token counts of one run, in Claude Code's field names (agents map theirs onto these). */
export type Usage = Record<string, number>;

/** The final result an agent reported, normalized. */
export interface FinalResult {
  /** The agent said the work ended well (Claude Code: `is_error` false and no `error*` subtype). */
  ok: boolean;
  /** The agent's own end reason (Claude Code's `subtype`; Codex/Gemini: their status), for classification. */
  subtype: string;
  /** The final text, if any. */
  text: string | null;
  /** The session the result names (compared against the one dispatch-cc saved). */
  session_id: string | null;
  num_turns: number | null;
  /** This run's own cost in USD; null when the agent reports none (never invented). */
  cost_usd: number | null;
  /** The agent's cost figure as reported (Claude Code on --resume: the session's running total). */
  reported_cost_usd: number | null;
  usage: Usage | null;
  /** The agent's token figures as reported, when they are not this run's own (Codex on resume: the thread's). */
  reported_usage?: Usage | null;
  api_error_status: number | null;
  /** Error texts the agent listed. */
  errors: string[];
  denials: Denial[];
  stop_reason: string | null;
  /** The agent's own figure for the run's length (transcripts show it; records use dispatch-cc's clock). */
  duration_ms?: number | null;
  /** Fields of the result object that did not have the expected shape (e.g. `"usage": [1, 2]`): corrupt. */
  malformed?: string[];
  /** With an output schema: the object the agent returned. */
  structured_output?: unknown;
  /** The raw line, for the `-result.json` audit file. */
  raw_line: string;
}

export type AgentEvent =
  /** The agent reported its session (Claude Code `system/init`, Codex `thread.started`, Gemini `init`). */
  | { kind: "session"; session_id: string; model?: string; permission_mode?: string }
  /**
   * A new model turn began (one model response). `uuid` is where a later resume can continue from
   * (Claude Code: the `assistant` event's uuid; absent where the agent has no such point). `continues`:
   * a later part of the same response (the resume point moves on, the turn count does not).
   */
  | { kind: "turn"; uuid?: string; continues?: boolean }
  /** Text the model wrote (for transcripts). */
  | { kind: "text"; text: string }
  /** `writes`: the file this call writes when it succeeds (edit tools), for `files_touched`. */
  | { kind: "tool_use"; id: string; name: string; input: unknown; writes?: string }
  | { kind: "tool_result"; id: string; is_error: boolean; text: string }
  /** A refusal seen in the stream (it counts even if a later line says otherwise). */
  | { kind: "denial"; denial: Denial }
  /** The agent retries after an API error: `message` is the error (status or text). */
  | { kind: "retry"; message: string; attempt?: number | string; max?: number | string; delay_ms?: number }
  | { kind: "result"; result: FinalResult }
  /** A line that is JSON but of no interest. */
  | { kind: "other" }
  /** A line that is not an event of this agent (counted, reported). */
  | { kind: "garbage" };

/**
 * A short, human line for a tool call: its name and main argument (file path, command, pattern).
 *
 * @example
 * ```ts
 * describeToolUse("Bash", { command: "npm\n test" }); // "Bash npm test"
 * ```
 */
export function describeToolUse(name: string, input: unknown): string {
  const i = (input && typeof input === "object" ? input : {}) as Record<string, unknown>;
  const main = i.file_path ?? i.command ?? i.pattern ?? i.path ?? i.url ?? i.description ?? "";
  const text = String(main).replace(/\s+/g, " ");
  return text ? `${name} ${text.length > 100 ? text.slice(0, 97) + "..." : text}` : name;
}
