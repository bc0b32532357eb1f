import { EXIT, type ExitCode } from "../exit_codes.ts";
import { type Denial, denialsFromResult } from "./claude_code.ts";

/**
 * Every way a run can end; `running` only while it goes on. `abandoned` is never classified: readers
 * show it for a run whose dispatcher died before finishing its record (`settleRecord`).
 */
export const RUN_STATUSES = [
  "running",
  "success",
  "error",
  "blocked",
  "max_turns",
  "budget_exceeded",
  "timeout",
  "interrupted",
  "cancelled",
  "crashed",
  "not_installed",
  "abandoned",
] as const;
export type RunStatus = typeof RUN_STATUSES[number];

/** What the supervisor saw of one run: the input of classification. */
export interface Observed {
  /** The final `result` event, if one arrived. */
  result: Record<string, unknown> | null;
  /** Why the process ended: on its own, or ended by us. */
  ended: "exit" | "timeout" | "interrupted" | "cancelled" | "spawn_failed";
  exitCode: number | null;
  signal: string | null;
  /** Lines on stdout that were not JSON events. */
  garbageLines: number;
  /** Did any event arrive at all? */
  sawEvents: boolean;
  /** The last bytes of the CLI's stderr, for the error message. */
  stderrTail: string;
  timeoutS?: number;
  spawnError?: string;
}

/** The verdict: status, exit code, one-line error, and the refused tool calls. */
export interface Outcome {
  status: Exclude<RunStatus, "running" | "abandoned">;
  exit_code: ExitCode;
  error: string | null;
  api_error_status: number | null;
  permission_denials: Denial[];
}

const lastLine = (text: string) => text.trim().split("\n").filter((l) => l.trim()).at(-1)?.trim() ?? "";

/**
 * Classifies a run from its final event, exit status and what was seen, following what Claude Code really
 * does: API errors come as `subtype: "success"` with `is_error: true`; refused tool calls leave
 * `is_error: false` and exit 0 with a non-empty `permission_denials`. So: `is_error` first, never
 * `subtype` alone, and denials make a "success" blocked.
 *
 * @example
 * ```ts
 * classify({ result: { type: "result", subtype: "success", is_error: false, permission_denials: [] },
 *   ended: "exit", exitCode: 0, signal: null, garbageLines: 0, sawEvents: true, stderrTail: "" }).status;
 * // "success"
 * ```
 */
export function classify(o: Observed): Outcome {
  const result = o.result;
  const denials = result ? denialsFromResult(result) : [];
  const out = (
    status: Outcome["status"],
    exit_code: ExitCode,
    error: string | null,
    api: number | null = null,
  ) => ({
    status,
    exit_code,
    error,
    api_error_status: api,
    permission_denials: denials,
  });

  if (o.ended === "spawn_failed") {
    return out("not_installed", EXIT.notInstalled, o.spawnError ?? "could not start");
  }
  // A result that arrived before we ended the process still says how the work went.
  if (!result) {
    if (o.ended === "timeout") {
      return out(
        "timeout",
        EXIT.timeout,
        `timed out after ${o.timeoutS ?? "?"} s; the session can be resumed`,
      );
    }
    if (o.ended === "interrupted") {
      return out("interrupted", EXIT.interrupted, "interrupted; the session can be resumed");
    }
    if (o.ended === "cancelled") {
      return out("cancelled", EXIT.interrupted, "cancelled; the session can be resumed");
    }
    const how = o.signal ? `was killed by ${o.signal}` : `exited with code ${o.exitCode}`;
    const why = !o.sawEvents && o.garbageLines > 0
      ? "printed no JSON events (unexpected output)"
      : o.sawEvents
      ? "stopped before its final result (truncated output)"
      : "printed nothing on stdout";
    const err = lastLine(o.stderrTail);
    return out("crashed", EXIT.specialistError, `Claude Code ${how} and ${why}${err ? `: ${err}` : ""}`);
  }

  const subtype = String(result.subtype ?? "");
  const isError = result.is_error === true;
  const text = typeof result.result === "string" ? result.result : "";
  const errors = Array.isArray(result.errors) ? result.errors.map(String).join("; ") : "";
  if (subtype === "error_max_turns") {
    return out(
      "max_turns",
      EXIT.limitReached,
      `stopped at the turn limit (${result.num_turns ?? "?"} turns)`,
    );
  }
  if (subtype === "error_max_budget_usd") {
    return out(
      "budget_exceeded",
      EXIT.limitReached,
      `stopped at the budget limit (cost $${result.total_cost_usd ?? "?"})`,
    );
  }
  if (o.ended === "interrupted" || o.ended === "cancelled") {
    // Claude Code answers SIGINT with an error result; the cause is ours, not its.
    const status = o.ended;
    return out(status, EXIT.interrupted, `${status}; the session can be resumed`);
  }
  if (isError || subtype.startsWith("error")) {
    const api = typeof result.api_error_status === "number" ? result.api_error_status : null;
    const what = text || errors || lastLine(o.stderrTail) ||
      `Claude Code reported an error (${subtype || "no subtype"})`;
    return out("error", EXIT.specialistError, api ? `API error ${api}: ${what}` : what, api);
  }
  if (denials.length > 0) {
    const tools = [...new Set(denials.map((d) => d.tool))].join(", ");
    return out("blocked", EXIT.blocked, `${denials.length} tool call(s) refused by permissions (${tools})`);
  }
  if (o.exitCode !== 0 && o.exitCode !== null) {
    return out(
      "error",
      EXIT.specialistError,
      `Claude Code exited with code ${o.exitCode} after a successful result`,
    );
  }
  return out("success", EXIT.success, null);
}
