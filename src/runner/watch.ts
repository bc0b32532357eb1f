/**
 * Watching runs from another process: which run is current, waiting for it to end, following its
 * transcript, cancelling it. A run is "going on" while the lock that started it (same token) is held;
 * a run's record is final before its dispatcher releases the lock, so once the lock is gone the record
 * says how it ended. Works the same for foreground and detached runs.
 */
import { LockHeldError, NotFoundError } from "../errors.ts";
import { EXIT } from "../exit_codes.ts";
import { clearCancelRequest, writeCancelRequest } from "../store/cancel.ts";
import { parseJsonObject, readJsonObjectSafe } from "../store/files.ts";
import { inspectLock, type LockInfo, type LockState } from "../store/lock.ts";
import type { ProjectPaths } from "../store/project.ts";
import { compareRunIds, listRunIds, readRun, runFiles, type RunSummary } from "../store/runs.ts";
import { finishRecord } from "./detach.ts";
import { MARKER, type RunRecord } from "./dispatch.ts";
import { sweep, type SweptProcess } from "./sweep.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The token of a held lock ("" while the lock file is being written), or null when no run holds it. */
function heldBy(state: LockState | null): { token: string; info: LockInfo | null } | null {
  if (!state?.held) return null;
  return { token: state.info?.token ?? "", info: state.info };
}

/** A run's record, or for a run of the earlier tool (no record) what its result file says. */
export type RunView = { kind: "record"; record: RunRecord } | { kind: "summary"; summary: RunSummary };

const FINAL_EXIT: Record<string, number> = {
  success: EXIT.success,
  error: EXIT.specialistError,
  blocked: EXIT.blocked,
  max_turns: EXIT.limitReached,
  budget_exceeded: EXIT.limitReached,
  corrupt: EXIT.specialistError,
  unknown: EXIT.specialistError,
};

/** Exit code of a run as `run` would have returned it. */
export function exitCodeOf(v: RunView): number {
  return v.kind === "record" ? v.record.exit_code : FINAL_EXIT[v.summary.status] ?? EXIT.specialistError;
}

/** Reads a run: our record, else the earlier tool's result file; null when the run has no files. */
export async function readRunView(paths: ProjectPaths, runId: string): Promise<RunView | null> {
  const rec = await readJsonObjectSafe(runFiles(paths.logsDir, runId).record);
  if (rec.ok) return { kind: "record", record: rec.value as unknown as RunRecord };
  const summary = await readRun(paths.logsDir, runId);
  if (summary.problem && summary.problem.includes("missing")) return null;
  return { kind: "summary", summary };
}

export const isGoingOn = (r: RunRecord) => r.status === "running" || r.status === "starting";

/** The run that is going on, else the last one; null when the project has no runs. */
export async function currentRunId(
  paths: ProjectPaths,
): Promise<{ runId: string | null; lock: LockState | null }> {
  const lock = await inspectLock(paths.lock).catch(() => null);
  const held = heldBy(lock);
  if (held?.info?.run_id) return { runId: held.info.run_id, lock };
  const ids = await listRunIds(paths.logsDir);
  return { runId: ids.at(-1) ?? null, lock };
}

/**
 * A record that says "running" while nothing runs it any more (its dispatcher was killed): reported as
 * crashed, without changing the file.
 */
function settle(v: RunView): RunView {
  if (v.kind !== "record" || !isGoingOn(v.record)) return v;
  return {
    kind: "record",
    record: {
      ...v.record,
      status: "crashed",
      exit_code: EXIT.specialistError,
      error:
        `its dispatcher (pid ${v.record.pid}) ended without finishing the run; the session can be resumed`,
    },
  };
}

export type WaitOutcome = { done: true; view: RunView } | {
  done: false;
  runId: string;
  view: RunView | null;
};

/**
 * Waits until the run going on ends (the lock that holds it is released) and returns how it ended; with
 * no run going on, returns the last run at once. After `timeoutMs` returns `done: false` and changes nothing.
 */
export async function waitForRun(
  paths: ProjectPaths,
  opts: { timeoutMs?: number; pollMs?: number; signal?: AbortSignal } = {},
): Promise<WaitOutcome> {
  const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
  let { runId, lock } = await currentRunId(paths);
  const first = heldBy(lock);
  if (!runId && !first) throw new NotFoundError(`project "${paths.slug}" has no runs yet`);
  if (first) {
    let holder = first.info?.pid;
    while (true) {
      const now = heldBy(await inspectLock(paths.lock).catch(() => null));
      // Held by the same holder (or its file is being rewritten): still going on.
      if (!now || (first.token && now.token && now.token !== first.token)) break;
      if (now.info?.run_id) runId = now.info.run_id;
      if (now.info?.pid) holder = now.info.pid;
      if (Date.now() >= deadline || opts.signal?.aborted) {
        return { done: false, runId: runId ?? "", view: runId ? await readRunView(paths, runId) : null };
      }
      await sleep(opts.pollMs ?? 200);
    }
    // A holder that runs several dispatches under one lock (apply) may have started its last between
    // two polls: its last run is the newest one it recorded.
    if (runId && holder !== undefined) runId = await lastRunOf(paths, holder, runId);
  }
  if (!runId) throw new NotFoundError(`project "${paths.slug}" has no runs yet`);
  const view = await readRunView(paths, runId);
  if (!view) throw new NotFoundError(`run ${runId} of "${paths.slug}" has no files`);
  return { done: true, view: settle(view) };
}

/** The newest run after `since` (or `since` itself) whose record names dispatcher `pid`. */
async function lastRunOf(paths: ProjectPaths, pid: number, since: string): Promise<string> {
  const ids = await listRunIds(paths.logsDir);
  for (let i = ids.length - 1; i >= 0 && compareRunIds(ids[i], since) > 0; i--) {
    const rec = await readJsonObjectSafe(runFiles(paths.logsDir, ids[i]).record);
    if (rec.ok && rec.value.pid === pid) return ids[i];
  }
  return since;
}

/** Is this run still going on: its record says so and the lock is held for it? */
async function stillGoingOn(paths: ProjectPaths, runId: string): Promise<boolean> {
  const rec = parseJsonObject(await Deno.readTextFile(runFiles(paths.logsDir, runId).record).catch(() => ""));
  if (!rec.ok || !isGoingOn(rec.value as unknown as RunRecord)) return false;
  const held = heldBy(await inspectLock(paths.lock).catch(() => null));
  return held !== null && (held.info === null || held.info.run_id === runId);
}

/**
 * Reads a run's transcript line by line; with `follow`, keeps reading as the run writes it until the run
 * ends. Calls `onLine` for each complete line.
 */
export async function readTranscript(
  paths: ProjectPaths,
  runId: string,
  onLine: (line: string) => void,
  opts: { follow: boolean; pollMs?: number; signal?: AbortSignal },
): Promise<{ found: boolean }> {
  const path = runFiles(paths.logsDir, runId).transcript;
  let file: Deno.FsFile | null = null;
  const decoder = new TextDecoder();
  let pending = "";
  const buf = new Uint8Array(64 * 1024);
  try {
    while (true) {
      if (!file) file = await Deno.open(path, { read: true }).catch(() => null);
      let got = 0;
      if (file) {
        let n: number | null;
        while ((n = await file.read(buf)) !== null && n > 0) {
          got += n;
          pending += decoder.decode(buf.subarray(0, n), { stream: true });
          let nl: number;
          while ((nl = pending.indexOf("\n")) !== -1) {
            onLine(pending.slice(0, nl));
            pending = pending.slice(nl + 1);
          }
        }
      }
      if (!opts.follow || opts.signal?.aborted) break;
      if (got === 0 && !(await stillGoingOn(paths, runId))) {
        // One more read: the last lines may have landed between the read and the check.
        if (file) {
          let n: number | null;
          while ((n = await file.read(buf)) !== null && n > 0) {
            pending += decoder.decode(buf.subarray(0, n), { stream: true });
          }
        }
        break;
      }
      if (got === 0) await sleep(opts.pollMs ?? 150);
    }
    for (const line of pending.split("\n")) if (line.trim()) onLine(line);
    return { found: file !== null };
  } finally {
    file?.close();
  }
}

export interface CancelOutcome {
  cancelled: boolean;
  /** Why nothing was cancelled, when nothing was. */
  reason: string | null;
  run_id: string | null;
  /** The dispatcher did not stop in time and was killed; the record was finished by `cancel`. */
  forced: boolean;
  ended_processes: SweptProcess[];
  record: RunRecord | null;
}

function kill(pid: number | undefined, sig: Deno.Signal): void {
  if (typeof pid !== "number" || pid <= 0) return;
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
  kill(info.pid, "SIGTERM");
  const gone = async () => {
    const now = heldBy(await inspectLock(paths.lock).catch(() => null));
    return !now || (now.token !== "" && now.token !== info.token);
  };
  const deadline = Date.now() + opts.waitMs;
  while (!(await gone()) && Date.now() < deadline) await sleep(100);

  let forced = false;
  let swept: SweptProcess[] = [];
  if (!(await gone())) {
    forced = true;
    kill(info.pid, "SIGKILL");
    if (typeof info.claude_pid === "number") {
      kill(-info.claude_pid, "SIGTERM");
      kill(info.claude_pid, "SIGTERM");
      await sleep(1000);
      kill(-info.claude_pid, "SIGKILL");
      kill(info.claude_pid, "SIGKILL");
    }
  }
  // The dispatcher sweeps its run's processes; sweep again in case it could not (killed, or forced here).
  if (typeof info.marker === "string") swept = await sweep(MARKER, info.marker);
  let record: RunRecord | null = null;
  if (info.run_id) {
    const file = runFiles(paths.logsDir, info.run_id).record;
    record = forced
      ? await finishRecord(
        file,
        "cancelled",
        EXIT.interrupted,
        "cancelled; the dispatcher did not stop in time and was killed; the session can be resumed",
        paths.logsDir,
        { ended_processes: swept },
      )
      : (await readRunView(paths, info.run_id))?.kind === "record"
      ? ((await readRunView(paths, info.run_id)) as { record: RunRecord }).record
      : null;
  }
  if (forced) {
    // Remove the lock only if it is still the one we cancelled.
    const text = await Deno.readTextFile(paths.lock).catch(() => null);
    const parsed = text ? parseJsonObject(text) : null;
    if (parsed?.ok && parsed.value.token === info.token) await Deno.remove(paths.lock).catch(() => {});
  }
  await clearCancelRequest(paths.logsDir, info.token);
  const cancelled = record === null || record.status === "cancelled";
  return {
    cancelled,
    reason: cancelled ? null : `the run ended (${record?.status}) before it could be cancelled`,
    run_id: info.run_id || null,
    forced,
    ended_processes: swept,
    record,
  };
}
