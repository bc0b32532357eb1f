/**
 * A run's outcome from the fold of its stream and how its CLI ended. Agent-neutral: the agent turned its
 * events into common ones; only the agent's display name appears here, in messages.
 *
 * @module
 */
import type { Denial } from "../agents/events.ts";
import { EXIT, type ExitCode } from "../exit_codes.ts";
import { RUN_STATUSES, type RunStatus } from "../store/run_record.ts";
import { integrityProblems, type RunFold } from "./fold.ts";

export { RUN_STATUSES, type RunStatus };

/** What the supervisor saw of one run: the input of classification. */
export interface Observed {
  fold: RunFold;
  /** Why the process ended: on its own, or ended by us. */
  ended: "exit" | "timeout" | "interrupted" | "cancelled" | "spawn_failed";
  exitCode: number | null;
  signal: string | null;
  /** The last bytes of the CLI's stderr, for the error message. */
  stderrTail: string;
  /** The session this run was given (or the first one its agent reported); null when none is known. */
  session: string | null;
  /** The CLI's name in messages ("Claude Code"). */
  agentName?: string;
  timeoutS?: number;
  spawnError?: string;
}

/** The verdict: status, exit code, one-line error, the refused tool calls, what was wrong with the stream. */
export interface Outcome {
  status: Exclude<RunStatus, "running" | "abandoned">;
  exit_code: ExitCode;
  error: string | null;
  api_error_status: number | null;
  permission_denials: Denial[];
  /** Lines added after the final result, another session named: never a success. */
  integrity_problems: string[];
}

const lastLine = (text: string) => text.trim().split("\n").filter((l) => l.trim()).at(-1)?.trim() ?? "";

/**
 * Classifies a run. `success` only when exactly one final result arrived, it is the last line, it names
 * this run's session, it says the work went well with no refusal anywhere in the stream, and the CLI then
 * exited 0 by itself. API errors come (in Claude Code) as `subtype: "success"` with `is_error: true`, so
 * the agent's `ok` decides, never the subtype alone; refusals make an ok result `blocked`.
 *
 * @example
 * ```ts
 * classify({ fold, ended: "exit", exitCode: 0, signal: null, stderrTail: "", session: id }).status;
 * // "success"
 * ```
 */
export function classify(o: Observed): Outcome {
  const f = o.fold;
  const who = o.agentName ?? "Claude Code";
  const denials = f.denials;
  const problems = integrityProblems(f, o.session);
  const out = (
    status: Outcome["status"],
    exit_code: ExitCode,
    error: string | null,
    api: number | null = null,
  ): Outcome => ({
    status,
    exit_code,
    error,
    api_error_status: api,
    permission_denials: denials,
    integrity_problems: problems,
  });

  if (o.ended === "spawn_failed") {
    return out("not_installed", EXIT.notInstalled, o.spawnError ?? "could not start");
  }
  // Ended by us: our own knowledge, which nothing in the stream can change.
  if (o.ended === "interrupted") {
    return out("interrupted", EXIT.interrupted, "interrupted; the session can be resumed");
  }
  if (o.ended === "cancelled") {
    return out("cancelled", EXIT.interrupted, "cancelled; the session can be resumed");
  }
  if (o.ended === "timeout") {
    const after = f.results.length > 0 ? ` (${who} printed a result but did not exit)` : "";
    return out(
      "timeout",
      EXIT.timeout,
      `timed out after ${o.timeoutS ?? "?"} s${after}; the session can be resumed`,
    );
  }
  if (problems.length > 0) {
    return out(
      "tampered",
      EXIT.tampered,
      `${who}'s output was added to or contradicts this run: ${problems.join("; ")}; ` +
        "the outcome cannot be trusted (see the transcript)",
    );
  }
  const how = o.signal ? `was killed by ${o.signal}` : `exited with code ${o.exitCode}`;
  const result = f.results[0];
  if (!result) {
    const why = !f.saw_events && f.garbage > 0
      ? "printed no JSON events (unexpected output)"
      : f.saw_events
      ? "stopped before its final result (truncated output)"
      : "printed nothing on stdout";
    const err = lastLine(o.stderrTail);
    return out("crashed", EXIT.specialistError, `${who} ${how} and ${why}${err ? `: ${err}` : ""}`);
  }
  if (result.subtype === "error_max_turns") {
    return out(
      "max_turns",
      EXIT.limitReached,
      `stopped at the turn limit (${result.num_turns ?? "?"} turns)`,
    );
  }
  if (result.subtype === "error_max_budget_usd") {
    const cost = result.reported_cost_usd ?? result.cost_usd;
    return out("budget_exceeded", EXIT.limitReached, `stopped at the budget limit (cost $${cost ?? "?"})`);
  }
  if (!result.ok) {
    const api = result.api_error_status;
    const what = result.text || result.errors.join("; ") || lastLine(o.stderrTail) ||
      `${who} reported an error (${result.subtype || "no subtype"})`;
    return out("error", EXIT.specialistError, api ? `API error ${api}: ${what}` : what, api);
  }
  if (result.malformed?.length) {
    return out(
      "error",
      EXIT.specialistError,
      `${who}'s final result is malformed (${result.malformed.join(", ")}); its outcome cannot be read`,
    );
  }
  if (denials.length > 0) {
    const tools = [...new Set(denials.map((d) => d.tool))].join(", ");
    return out("blocked", EXIT.blocked, `${denials.length} tool call(s) refused by permissions (${tools})`);
  }
  if (o.exitCode !== 0 || o.signal !== null) {
    return out(
      o.signal ? "crashed" : "error",
      EXIT.specialistError,
      `${who} ${how} after a successful result`,
    );
  }
  return out("success", EXIT.success, null);
}
