/**
 * Stopping a run from another process (`cancel`), and finishing a run record its dispatcher could not
 * finish. Only processes verified as the run's are signalled: its dispatcher when the pid still is the
 * process the lock recorded and runs dispatch-cc, and Claude Code and its tools by the run's marker.
 */
import { EXIT } from "../exit_codes.ts";
import { writeJsonAtomic } from "../store/atomic.ts";
import { clearCancelRequest, writeCancelRequest } from "../store/cancel.ts";
import { readJsonObjectSafe } from "../store/files.ts";
import { appendHistory, historyEntryOf } from "../store/history.ts";
import { inspectLock, type LockInfo, removeLockIf } from "../store/lock.ts";
import {
  isAlive,
  isDispatchCcCommand,
  processCommandLine,
  processCwd,
  processStartTimeLike,
} from "../store/process_alive.ts";
import type { ProjectPaths } from "../store/project.ts";
import { isGoingOn, normalizeRecord, resumable } from "../store/record.ts";
import { runFiles } from "../store/runs.ts";
import { LockHeldError } from "../errors.ts";
import { MARKER, type RunRecord } from "./dispatch.ts";
import { sleep } from "./sleep.ts";
import { sweep, type SweptProcess } from "./sweep.ts";
import { heldBy, readRunView, type RunView } from "./watch.ts";

const recordOf = (v: RunView | null) => v?.kind === "record" ? v.record : null;

export interface CancelOutcome {
  cancelled: boolean;
  /** Why nothing was cancelled, when nothing was. */
  reason: string | null;
  run_id: string | null;
  /** The dispatcher did not stop in time and was killed, or was already gone; `cancel` finished the record. */
  forced: boolean;
  /** What the lock's dispatcher was: this run's ("ours"), already gone, or a process not dispatch-cc's. */
  dispatcher?: "ours" | "gone" | "other";
  ended_processes: SweptProcess[];
  record: RunRecord | null;
}

/**
 * Is the lock's `pid` this run's dispatcher? "ours" when it is alive, started when the lock says (boot-
 * relative ticks, whatever the caller's time zone) and runs this dispatch-cc, however it was started
 * (`deno task` with its relative `src/main.ts`, `deno run` with any path, the compiled binary, a detached
 * supervisor); "gone" when that process no longer exists (its pid is free or another process's now);
 * "other" when a live process with that pid does not look like dispatch-cc (a forged lock): not signalled.
 */
function dispatcherState(info: LockInfo): "ours" | "gone" | "other" {
  if (!Number.isInteger(info.pid) || info.pid <= 0 || info.pid === Deno.pid) return "other";
  if (!isAlive(info.pid)) return "gone";
  if (typeof info.pid_started === "string") {
    const started = processStartTimeLike(info.pid, info.pid_started);
    if (started === null && !isAlive(info.pid)) return "gone";
    if (started !== null && started !== info.pid_started) return "gone";
  }
  const command = processCommandLine(info.pid);
  return command !== null &&
      isDispatchCcCommand(command, undefined, undefined, undefined, processCwd(info.pid))
    ? "ours"
    : "other";
}

function kill(pid: number | undefined, sig: Deno.Signal): void {
  if (typeof pid !== "number" || !Number.isInteger(pid) || pid <= 0) return;
  try {
    Deno.kill(pid, sig);
  } catch { /* gone */ }
}

/**
 * Cancels the run going on: leaves a cancel request naming its lock, sends SIGTERM to its dispatcher
 * (which ends Claude Code's whole tree and records "cancelled"), and waits for the lock to go. If the
 * dispatcher does not end within `waitMs`, kills it, ends what is left of the run (Claude Code's group,
 * every process carrying the run's marker), finishes the record and removes the lock itself.
 */
export async function cancelRun(
  paths: ProjectPaths,
  opts: { waitMs: number; host: string },
): Promise<CancelOutcome> {
  const none = (reason: string, runId: string | null = null): CancelOutcome => ({
    cancelled: false,
    reason,
    run_id: runId,
    forced: false,
    ended_processes: [],
    record: null,
  });
  let held = heldBy(await inspectLock(paths.lock).catch(() => null));
  for (let i = 0; held && !held.info && i < 20; i++) {
    await sleep(50);
    held = heldBy(await inspectLock(paths.lock).catch(() => null));
  }
  if (!held?.info) return none("nothing is running in this project");
  const info = held.info;
  if (info.host !== opts.host) {
    throw new LockHeldError(
      `the run in "${paths.slug}" belongs to dispatch-cc on ${info.host}; cancel it there`,
    );
  }
  await writeCancelRequest(paths.logsDir, {
    token: info.token,
    run_id: info.run_id,
    requested: new Date().toISOString(),
    by_pid: Deno.pid,
  });
  // A stale lock's pid may have been reused, and a lock file can be forged: signal the dispatcher only when
  // that pid is still the process the lock recorded and runs dispatch-cc. Otherwise the cancel request
  // alone asks it to stop, and only the run's marked processes are ended below.
  const state = dispatcherState(info);
  if (state === "ours") kill(info.pid, "SIGTERM");
  const gone = async () => {
    const now = heldBy(await inspectLock(paths.lock).catch(() => null));
    return !now || (now.token !== "" && now.token !== info.token);
  };
  // A dispatcher known to be gone (killed with -9) cannot record anything: no grace period to wait out.
  const deadline = Date.now() + (state === "gone" ? 0 : opts.waitMs);
  while (!(await gone()) && Date.now() < deadline) await sleep(100);

  let forced = false;
  let swept: SweptProcess[] = [];
  if (!(await gone())) {
    forced = true;
    if (state === "ours" && dispatcherState(info) === "ours") kill(info.pid, "SIGKILL");
  }
  // The dispatcher sweeps its run's processes; sweep again in case it could not (killed, or forced here).
  // Claude Code and its tools are found by the run's marker in their environment, never by a pid or a
  // process group named in the lock: TERM, a grace period, then KILL, for exactly those processes.
  if (typeof info.marker === "string" && info.marker !== "") swept = await sweep(MARKER, info.marker);
  let record: RunRecord | null = null;
  if (info.run_id) {
    const file = runFiles(paths.logsDir, info.run_id).record;
    record = forced
      ? await finishRecord(
        file,
        "cancelled",
        EXIT.interrupted,
        state === "gone"
          ? "cancelled; its dispatcher was already gone; the session can be resumed"
          : "cancelled; the dispatcher did not stop in time and was killed; the session can be resumed",
        paths.logsDir,
        { ended_processes: swept },
      )
      : recordOf(await readRunView(paths, info.run_id));
  }
  // Remove the lock only if it is still the one we cancelled.
  if (forced) await removeLockIf(paths.lock, info.token);
  await clearCancelRequest(paths.logsDir, info.token);
  const cancelled = record === null || record.status === "cancelled";
  return {
    cancelled,
    reason: cancelled ? null : `the run ended (${record?.status}) before it could be cancelled`,
    run_id: info.run_id || null,
    forced,
    dispatcher: state,
    ended_processes: swept,
    record,
  };
}

/**
 * Ends a run record that its dispatcher could not finish (a supervisor that failed, a dispatcher that
 * `cancel` had to kill), unless it already has a final status. Adds the run to the history index.
 */
export async function finishRecord(
  recordFile: string,
  status: RunRecord["status"],
  exitCode: number,
  error: string,
  logsDir: string,
  extra: Partial<RunRecord> = {},
): Promise<RunRecord | null> {
  const r = await readJsonObjectSafe(recordFile);
  const checked = r.ok ? normalizeRecord(r.value) : null;
  if (!checked?.ok) return null;
  const rec = checked.value;
  if (!isGoingOn(rec.status)) return rec;
  const ended = new Date();
  const done: RunRecord = {
    ...rec,
    ...extra,
    status,
    exit_code: exitCode,
    error: error.replace("the session can be resumed", resumable(rec)),
    ended: ended.toISOString(),
    duration_ms: rec.started ? ended.getTime() - new Date(rec.started).getTime() : null,
  };
  await writeJsonAtomic(recordFile, done);
  await appendHistory(logsDir, historyEntryOf(done)).catch(() => {});
  return done;
}
