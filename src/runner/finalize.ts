/**
 * The end of a run: its outcome and the fold of its stream written as the run's files (record, result
 * file, last-result.txt, the run index). Everything written comes from dispatch-cc's own state (the
 * session it assigned, the fold, the outcome), never read back from a file the run could have changed.
 *
 * @module
 */
import type { SandboxChoice } from "../sandbox/choice.ts";
import type { OutsideWrite } from "../sandbox/bwrap.ts";
import { checkNotSymlink } from "../sandbox/project_folder.ts";
import { outsideRefusals, sandboxRefusals } from "../sandbox/refusals.ts";
import { EXIT } from "../exit_codes.ts";
import { environmentError } from "../errors.ts";
import { dirname } from "../paths.ts";
import type { Reporter } from "../report.ts";
import { writeTextAtomic } from "../store/atomic.ts";
import { appendHistory, historyEntryOf, historyPath, ownCost, readHistory } from "../store/history.ts";
import { isSessionId, type ProjectPaths, touchProject, writeSessionId } from "../store/project.ts";
import type { RunRecord } from "../store/run_record.ts";
import { type RunFiles, writeRecord } from "../store/runs.ts";
import type { Outcome } from "./classify.ts";
import type { RunFold } from "./fold.ts";
import type { Supervised } from "./supervise.ts";

export interface Finish {
  record: RunRecord;
  outcome: Outcome;
  fold: RunFold;
  supervised: Supervised;
  sandbox: SandboxChoice;
  /** Successful tool results naming a read-only refusal (the failed ones are in the fold). */
  readOnlyResults?: { tool_use_id: string; text: string; is_error: boolean }[];
  /** What the run wrote outside its binds (the sandbox's own root). */
  outside?: OutsideWrite[];
  paths: ProjectPaths;
  /** last-session-id, or last-review-session-id for a review. */
  sessionFile: string;
  files: RunFiles;
  started: Date;
  ended: Date;
  warn: (m: string) => void;
  reporter: Reporter;
  elapsed: () => string;
}

/** Writes a finished run's files and returns its record. */
export async function finalizeRun(x: Finish): Promise<RunRecord> {
  const { record, outcome, fold, supervised, paths, files } = x;
  // Writes the OS sandbox refused, whether or not the tool call failed: denials too (path and tool).
  const uses = new Map(Object.entries(fold.uses));
  const results = [...fold.tool_errors.map((e) => ({ ...e, is_error: true })), ...(x.readOnlyResults ?? [])];
  const refused = [
    ...sandboxRefusals(x.sandbox.kind, results, uses),
    ...outsideRefusals(x.outside ?? [], uses),
  ];
  if (refused.length > 0) {
    outcome.permission_denials = [...outcome.permission_denials, ...refused];
    if (outcome.status === "success") {
      const tools = [...new Set(refused.map((d) => d.tool))].join(", ");
      const first = refused[0];
      Object.assign(outcome, {
        status: "blocked",
        exit_code: EXIT.blocked,
        error: `${refused.length} write(s) refused by the sandbox (${tools}): ` +
          (first.path ? `${first.path}: ` : "") + first.reason,
      });
    }
  }
  // A stream that was added to: none of its results is trusted (which one the CLI wrote is unknown).
  const result = outcome.status === "tampered" ? null : fold.results[0] ?? null;
  const reported = result?.reported_cost_usd ?? null;
  let cost: number | null = result?.cost_usd ?? null;
  if (cost === null && reported !== null) {
    const before = record.session_mode === "resume" && record.session_id
      ? await readHistory(paths.logsDir).then((h) => h.entries, () => [])
      : [];
    cost = ownCost(reported, record.session_mode, record.session_id, before, files.runId);
    if (cost === null) {
      x.warn(`the session's cost before this run is unknown: this run's own cost is not known`);
    }
  }
  Object.assign(record, {
    status: outcome.status,
    exit_code: outcome.exit_code,
    error: outcome.error,
    api_error_status: outcome.api_error_status,
    permission_denials: outcome.permission_denials,
    result: result?.text ?? null,
    // At --max-turns Claude Code counts the turn it refused to start (1 ran, it says 2): the model
    // responses seen are the turns that ran.
    num_turns: result?.subtype === "error_max_turns" && fold.turns > 0
      ? fold.turns
      : result?.num_turns ?? fold.turns,
    duration_ms: x.ended.getTime() - x.started.getTime(),
    cost_usd: cost,
    reported_cost_usd: reported,
    usage: result?.usage ?? null,
    stop_reason: result?.stop_reason ?? null,
    last_assistant_uuid: fold.resume_point,
    tool_calls: fold.tool_calls,
    tool_errors: fold.tool_errors,
    files_touched: fold.files_touched,
    ended: x.ended.toISOString(),
    claude_exit: supervised.pid === null ? null : { code: supervised.exitCode, signal: supervised.signal },
    ended_processes: supervised.swept,
    ...(outcome.integrity_problems.length ? { integrity_problems: outcome.integrity_problems } : {}),
  });
  if (record.model === null && fold.model) record.model = fold.model;
  if (supervised.swept.length > 0) {
    x.warn(
      `ended ${supervised.swept.length} process(es) the run left behind: ` +
        supervised.swept.map((p) => `${p.pid} ${p.command.slice(0, 60)}`).join("; "),
    );
  }

  // The result file holds the CLI's final result object exactly as printed; when it printed none (timeout,
  // crash) or its output cannot be trusted, a result object of the same shape says what happened, so older
  // readers see an error too.
  const resultText = result?.raw_line ?? JSON.stringify({
    type: "result",
    subtype: "error_during_execution",
    is_error: true,
    result: `dispatch-cc: ${outcome.error}`,
    session_id: record.session_id,
    num_turns: record.num_turns,
    duration_ms: record.duration_ms,
    permission_denials: [],
    dispatch_status: outcome.status,
  });
  await writeTextAtomic(files.result, resultText + "\n");
  await writeTextAtomic(
    paths.lastResult,
    (record.result ?? `dispatch-cc: ${record.status}: ${outcome.error}`) + "\n",
  );
  // The session file again, from dispatch-cc's own state: whatever the run's tools wrote there meanwhile.
  if (record.session_id && isSessionId(record.session_id)) {
    await writeSessionId(x.sessionFile, record.session_id);
  }
  await writeRecord(files.record, { ...record });
  await touchProject(paths, x.ended);
  try {
    // Without the sandbox a tool of this very run could have planted a link there.
    checkNotSymlink(historyPath(paths.logsDir));
    await appendHistory(paths.logsDir, historyEntryOf(record));
  } catch (err) {
    x.reporter.warn(
      `could not add the run to the history index: ${err instanceof Error ? err.message : err}`,
    );
  }
  x.reporter.progress(
    `[${x.elapsed()}] ${record.status}: ${record.num_turns ?? "-"} turns, ${record.tool_calls} tool calls` +
      (record.cost_usd !== null ? `, $${record.cost_usd.toFixed(4)}` : ""),
  );
  return record;
}

/**
 * Whatever broke after the run was recorded as running (disk full, sandbox preparation): the record says
 * so instead of staying "running" forever.
 */
export async function recordCrash(path: string, record: RunRecord, err: unknown): Promise<void> {
  // A full disk or a read-only folder is the user's environment, not a bug: exit 74 and its reason.
  const refused = environmentError(err);
  const message = refused?.message ?? (err instanceof Error ? err.message : String(err));
  Object.assign(record, {
    status: "crashed",
    exit_code: refused ? EXIT.environment : EXIT.internal,
    error: `dispatch-cc failed: ${message}`,
    ended: new Date().toISOString(),
  });
  await writeRecord(path, { ...record }).catch(() => {});
  await appendHistory(dirname(path), historyEntryOf(record)).catch(() => {});
}
