/**
 * The event fold: a run's stream of common events (`src/agents/events.ts`) reduced to what the outcome and
 * the record need. Pure: no files, no clock, no processes; tested on recorded streams
 * (`tests/fold.test.ts`). The runner feeds it line by line as the CLI writes; `foldLines` does the same
 * for a whole recorded stream.
 *
 * What the CLI wrote cannot be removed from its pipe, only added to (a tool's process can open the pipe
 * through /proc): so the fold keeps every final result and counts every line after the first one, and
 * denials are gathered from every line, never taken back by a later one.
 *
 * @module
 */
import type { AgentEvent, Denial, FinalResult } from "../agents/events.ts";
import type { LineParser } from "../agents/agent.ts";

const MAX_TOOL_ERRORS = 50;

export interface RunFold {
  /** Session ids the stream reported (`session` events), in order, without repeats. */
  sessions: string[];
  model: string | null;
  /** Model turns (responses) seen. */
  turns: number;
  /** The last resume point (Claude Code: the last `assistant` event's uuid). */
  resume_point: string | null;
  tool_calls: number;
  /** Tool calls by id: name and input (for refusals found in tool errors). */
  uses: Record<string, { name: string; input: unknown }>;
  /** Edit calls waiting for their result: a file counts as written only when the call succeeded. */
  pending_writes: Record<string, string>;
  files_touched: string[];
  tool_errors: { tool_use_id: string; text: string }[];
  /** Refusals seen anywhere in the stream (denial events and every result's list), without repeats. */
  denials: Denial[];
  /** Every final result, in order (more than one means something was added to the stream). */
  results: FinalResult[];
  /** Non-empty lines after the first final result. */
  lines_after_result: number;
  /** Lines that were not events of the agent. */
  garbage: number;
  /** Did any event arrive? */
  saw_events: boolean;
  /** Lines folded (non-empty). */
  lines: number;
}

export function emptyFold(): RunFold {
  return {
    sessions: [],
    model: null,
    turns: 0,
    resume_point: null,
    tool_calls: 0,
    uses: {},
    pending_writes: {},
    files_touched: [],
    tool_errors: [],
    denials: [],
    results: [],
    lines_after_result: 0,
    garbage: 0,
    saw_events: false,
    lines: 0,
  };
}

const sameDenial = (a: Denial, b: Denial) =>
  a.tool_use_id !== undefined && b.tool_use_id !== undefined
    ? a.tool_use_id === b.tool_use_id
    : a.tool === b.tool && JSON.stringify(a.input) === JSON.stringify(b.input);

/** Adds a refusal; one seen twice (its event, then the result's list) keeps what either told of it. */
function addDenial(f: RunFold, d: Denial): void {
  const i = f.denials.findIndex((x) => sameDenial(x, d));
  if (i < 0) {
    f.denials.push(d);
    return;
  }
  const had = f.denials[i];
  f.denials[i] = {
    ...d,
    ...had,
    input: had.input ?? d.input,
    ...(had.reason ?? d.reason ? { reason: had.reason ?? d.reason } : {}),
  };
}

/**
 * Folds the events of one stdout line into `f` (updated in place and returned: a run's fold is owned by
 * its runner alone). Call once per non-empty line, with the parser's events for it.
 *
 * @example
 * ```ts
 * const parse = claudeCode.parser();
 * let f = emptyFold();
 * for (const line of stdout.split("\n")) if (line.trim()) f = foldLine(f, parse(line));
 * ```
 */
export function foldLine(f: RunFold, events: readonly AgentEvent[]): RunFold {
  f.lines++;
  if (f.results.length > 0) f.lines_after_result++;
  for (const ev of events) {
    if (ev.kind === "garbage") {
      f.garbage++;
      continue;
    }
    f.saw_events = true;
    switch (ev.kind) {
      case "session":
        if (!f.sessions.includes(ev.session_id)) f.sessions.push(ev.session_id);
        if (ev.model && f.model === null) f.model = ev.model;
        break;
      case "turn":
        if (!ev.continues) f.turns++;
        if (ev.uuid) f.resume_point = ev.uuid;
        break;
      case "tool_use":
        f.tool_calls++;
        f.uses[ev.id] = { name: ev.name, input: ev.input };
        if (ev.writes) f.pending_writes[ev.id] = ev.writes;
        break;
      case "tool_result": {
        const file = f.pending_writes[ev.id];
        delete f.pending_writes[ev.id];
        if (!ev.is_error && file && !f.files_touched.includes(file)) f.files_touched.push(file);
        if (ev.is_error && f.tool_errors.length < MAX_TOOL_ERRORS) {
          f.tool_errors.push({ tool_use_id: ev.id, text: ev.text.slice(0, 500) });
        }
        break;
      }
      case "denial":
        addDenial(f, ev.denial);
        break;
      case "result":
        f.results.push(ev.result);
        for (const d of ev.result.denials) addDenial(f, d);
        break;
    }
  }
  return f;
}

/**
 * Folds a whole recorded stream.
 *
 * @example
 * ```ts
 * const f = foldLines(claudeCode.parser(), await Deno.readTextFile(transcript));
 * ```
 */
export function foldLines(parse: LineParser, text: string): RunFold {
  let f = emptyFold();
  for (const line of text.split("\n")) if (line.trim() !== "") f = foldLine(f, parse(line));
  return f;
}

/**
 * What makes a stream untrustworthy, checked against the session this run was given: more than one final
 * result, lines after it, or a session id other than this run's. Empty when the stream is as the CLI
 * writes it.
 *
 * @example
 * ```ts
 * integrityProblems(fold, "1b4e...-..."); // ["1 line(s) after the final result"]
 * ```
 */
export function integrityProblems(f: RunFold, session: string | null): string[] {
  const out: string[] = [];
  if (f.results.length > 1) out.push(`${f.results.length} final results in the stream (one expected)`);
  if (f.lines_after_result > 0) out.push(`${f.lines_after_result} line(s) after the final result`);
  if (session !== null) {
    const others = f.sessions.filter((s) => s !== session);
    if (others.length) out.push(`the stream named another session (${others.slice(0, 3).join(", ")})`);
    const named = f.results.map((r) => r.session_id).filter((s) => s !== null && s !== session);
    if (named.length) out.push(`the final result named another session (${named[0]})`);
  }
  return out;
}
