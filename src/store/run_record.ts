/**
 * The run record (`<run id>-run.json`, and `run --json`): its type, its statuses and its empty value. The
 * runner fills it in; every reader checks it through `normalizeRecord` (`record.ts`). Nothing here knows
 * the runner or an agent's event shapes.
 *
 * @module
 */
import type { AgentName } from "../agents/agent.ts";
import type { Denial } from "../agents/events.ts";
import type { Changes } from "../git/changes.ts";
import type { SandboxChoice } from "../sandbox/choice.ts";
import type { PermissionMode } from "../sandbox/permission.ts";

export type DispatchCommand = "run" | "resume" | "review" | "apply";

/**
 * Every way a run can end; `running` only while it goes on. `abandoned` is never classified: readers
 * show it for a run whose dispatcher died before finishing its record (`settleRecord`). `tampered`: the
 * CLI's output was added to after its final result (or named another session): the outcome cannot be
 * trusted, whatever the lines say. `verify_failed`: the specialist said it succeeded, its check (`--verify`)
 * failed still after the last round.
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
  "tampered",
  "verify_failed",
  "abandoned",
] as const;
export type RunStatus = typeof RUN_STATUSES[number];

/** A check's verdict (`verify` of a run). */
export interface VerifySummary {
  command: string;
  passed: boolean;
  /** How many times the command ran. */
  attempts: number;
  /** null when it did not exit by itself (stopped at its time limit, could not start). */
  exit_code: number | null;
  /** The last lines of its output, verbatim. */
  output_tail: string;
}

/** One round of a verified run (`rounds` of a run). */
export interface RoundSummary {
  run_id: string;
  status: string;
  exit_code: number;
  session_id: string | null;
  num_turns: number | null;
  cost_usd: number | null;
  usage: Record<string, number> | null;
  /** The check after this round (absent when the round did not succeed). */
  check?: { exit_code: number | null; passed: boolean };
}

/** A process of the run still alive when it ended, and how dispatch-cc ended it. */
export interface EndedProcess {
  pid: number;
  command: string;
  /** How it ended: it left after TERM, or needed KILL. */
  ended_by: "SIGTERM" | "SIGKILL";
}

/** The JSON shape of a run (`run --json`, the `-run.json` record): versioned, documented in the README. */
export interface RunRecord {
  version: 1;
  run_id: string;
  slug: string;
  project_dir: string;
  command: DispatchCommand;
  /** The specialist CLI (absent in records written before there was a choice: Claude Code). */
  agent?: AgentName;
  /** "starting" only in the record a detached run writes before its supervisor takes over. */
  status: RunStatus | "starting";
  exit_code: number;
  error: string | null;
  api_error_status: number | null;
  session_id: string | null;
  /** "new" or "resume": whether this run continued an earlier session. */
  session_mode: "new" | "resume";
  /** The uuid of the last `assistant` event: where a later `--resume-session-at` can continue from. */
  last_assistant_uuid: string | null;
  result: string | null;
  num_turns: number | null;
  duration_ms: number | null;
  /** This run's own cost (on a resume: the session's total as reported minus its total before the run). */
  cost_usd: number | null;
  /** The cost as the CLI reported it (Claude Code on --resume: the session's running total). */
  reported_cost_usd?: number | null;
  usage: Record<string, number> | null;
  stop_reason: string | null;
  model: string | null;
  permission: PermissionMode;
  // The sandbox layers of the run (absent in older records and in a detached run's "starting" record).
  /** The permission ceiling in effect (DISPATCH_MAX_PERMISSION) and whether --allow-dangerous lifted it. */
  permission_ceiling?: PermissionMode;
  allow_dangerous?: boolean;
  /** The OS sandbox of the run. */
  sandbox?: SandboxChoice;
  /** Names of the variables the CLI got (never the values). */
  env_names?: string[];
  timeout_s: number;
  /** Refused tool calls: by the permission mode, or (`source: "sandbox"`) by the OS sandbox. */
  permission_denials: Denial[];
  tool_errors: { tool_use_id: string; text: string }[];
  /** A project in a repository: the files this run added, modified or deleted (absent otherwise). */
  changes?: Changes | null;
  tool_calls: number;
  files_touched: string[];
  started: string;
  ended: string | null;
  /** The dispatcher: the foreground process, or a detached run's supervisor. */
  pid: number;
  host: string;
  detached: boolean;
  claude_pid: number | null;
  claude_exit: { code: number | null; signal: string | null } | null;
  /** Processes of the run that were still alive when it ended, and how dispatch-cc ended them. */
  ended_processes: EndedProcess[];
  /** With an output schema: the object the specialist returned (null when none came back). */
  structured_output?: unknown;
  /** With a check (`--verify`): its verdict after the last round (`attempts`: how often it ran). */
  verify?: VerifySummary;
  /** With a check: every round (each a run of its own, in the history), oldest first. */
  rounds?: RoundSummary[];
  /** In each round's own record: the check that ran after it. */
  verification?: {
    command: string;
    attempt: number;
    exit_code: number | null;
    passed: boolean;
    output_tail: string;
    log_file: string;
  };
  /** With a completion hook (`--on-done`): how it went (a failure is also a warning; never the outcome). */
  on_done?: {
    command: string;
    ok: boolean;
    exit_code: number | null;
    error?: string;
    duration_ms: number;
  };
  /** What makes the outcome untrustworthy or odd: lines after the final result, another session named. */
  integrity_problems?: string[];
  warnings: string[];
  record_file: string;
  result_file: string;
  transcript_file: string;
  stderr_file: string;
}

/**
 * A run record before anything is known of the run: every field at its empty value. The runner fills it
 * in as the run goes; a detached run shows it (status "starting") until its supervisor takes over.
 */
export function blankRecord(
  fields: Pick<
    RunRecord,
    "slug" | "project_dir" | "command" | "status" | "session_mode" | "permission" | "timeout_s"
  >,
  started: Date,
  detached: boolean,
): RunRecord {
  return {
    version: 1,
    run_id: "",
    ...fields,
    exit_code: 0,
    error: null,
    api_error_status: null,
    session_id: null,
    last_assistant_uuid: null,
    result: null,
    num_turns: null,
    duration_ms: null,
    cost_usd: null,
    usage: null,
    stop_reason: null,
    model: null,
    permission_denials: [],
    tool_errors: [],
    tool_calls: 0,
    files_touched: [],
    started: started.toISOString(),
    ended: null,
    pid: Deno.pid,
    host: Deno.hostname(),
    detached,
    claude_pid: null,
    claude_exit: null,
    ended_processes: [],
    warnings: [],
    record_file: "",
    result_file: "",
    transcript_file: "",
    stderr_file: "",
  };
}
