/**
 * Watching runs from another process: which run is current, waiting for it to end, following its
 * transcript, cancelling it. A run is "going on" while the lock that started it (same token) is held;
 * a run's record is final before its dispatcher releases the lock, so once the lock is gone the record
 * says how it ended. Works the same for foreground and detached runs.
 */
import { NotFoundError } from "../errors.ts";
import { EXIT } from "../exit_codes.ts";
import { checkRegularFile, describeProblem, readJsonObjectSafe } from "../store/files.ts";
import { inspectLock, type LockInfo, type LockState } from "../store/lock.ts";
import type { ProjectPaths } from "../store/project.ts";
import { isGoingOn as goingOn, normalizeRecord, settleRecord } from "../store/record.ts";
import { compareRunIds, listRunIds, readRun, runFiles, type RunSummary } from "../store/runs.ts";
import type { RunRecord } from "./dispatch.ts";
import { LineSplitter } from "./lines.ts";
import { sleep } from "./sleep.ts";

/** The token of a held lock ("" while the lock file is being written), or null when no run holds it. */
export function heldBy(state: LockState | null): { token: string; info: LockInfo | null } | null {
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

/**
 * Reads a run: our record, else the earlier tool's result file; null when the run has no files. A record
 * that is not what a run record holds is a summary with status "corrupt" and the problem.
 */
export async function readRunView(paths: ProjectPaths, runId: string): Promise<RunView | null> {
  const rec = await readJsonObjectSafe(runFiles(paths.logsDir, runId).record);
  const checked = rec.ok ? normalizeRecord(rec.value) : null;
  if (checked?.ok) return { kind: "record", record: checked.value };
  const summary = await readRun(paths.logsDir, runId);
  if (summary.problem && summary.problem.includes("missing")) return null;
  return { kind: "summary", summary };
}

export const isGoingOn = (r: RunRecord) => goingOn(r.status);

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
  if (view.kind === "summary" || !isGoingOn(view.record)) return { done: true, view };
  // Its record says it goes on, yet the lock that held it is gone: shown as every reader shows it.
  const lockNow = await inspectLock(paths.lock).catch(() => null);
  return { done: true, view: { kind: "record", record: settleRecord(view.record, lockNow) } };
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
  const rec = await readJsonObjectSafe(runFiles(paths.logsDir, runId).record);
  const checked = rec.ok ? normalizeRecord(rec.value) : null;
  if (!checked?.ok || !isGoingOn(checked.value)) return false;
  const held = heldBy(await inspectLock(paths.lock).catch(() => null));
  return held !== null && (held.info === null || held.info.run_id === runId);
}

/**
 * Reads a run's transcript line by line; with `follow`, keeps reading as the run writes it until the run
 * ends. Calls `onLine` for each complete line. A transcript truncated or replaced while followed is read
 * again from its start (a partly read line is dropped, never shown as a fragment); one that is not a
 * regular file (a FIFO, a device) is not opened.
 */
export async function readTranscript(
  paths: ProjectPaths,
  runId: string,
  onLine: (line: string) => void,
  opts: { follow: boolean; pollMs?: number; signal?: AbortSignal },
): Promise<{ found: boolean; problem?: string }> {
  const path = runFiles(paths.logsDir, runId).transcript;
  let file: Deno.FsFile | null = null;
  let ino: number | null = null;
  let offset = 0;
  let problem: string | undefined;
  const split = new LineSplitter();
  const buf = new Uint8Array(64 * 1024);
  const open = async () => {
    const check = await checkRegularFile(path, { maxBytes: Infinity });
    if (!check.ok) {
      if (check.problem !== "missing") problem = `transcript ${describeProblem(check)}`;
      return;
    }
    file = await Deno.open(path, { read: true }).catch(() => null);
    if (file) {
      ino = (await file.stat()).ino;
      offset = 0;
    }
  };
  // The file at `path` is no longer what we read (replaced), or shorter than what we read (truncated).
  const restarted = async (): Promise<boolean> => {
    if (!file) return false;
    const now = await Deno.stat(path).catch(() => null);
    if (now && now.isFile && now.ino !== ino) {
      (file as Deno.FsFile).close();
      file = null;
      split.reset();
      await open();
      return true;
    }
    const size = now?.ino === ino ? now.size : (await (file as Deno.FsFile).stat()).size;
    if (size < offset) {
      await (file as Deno.FsFile).seek(0, Deno.SeekMode.Start);
      offset = 0;
      split.reset();
      return true;
    }
    return false;
  };
  const drain = async (): Promise<number> => {
    if (!file) return 0;
    let got = 0;
    let n: number | null;
    while ((n = await (file as Deno.FsFile).read(buf)) !== null && n > 0) {
      got += n;
      offset += n;
      split.push(buf.subarray(0, n), onLine);
    }
    return got;
  };
  try {
    while (true) {
      if (!file && problem === undefined) await open();
      let got = await drain();
      if (!opts.follow || opts.signal?.aborted || problem !== undefined) break;
      if (got === 0 && (await restarted())) got = await drain();
      if (got === 0 && !(await stillGoingOn(paths, runId))) {
        // One more read: the last lines may have landed between the read and the check.
        await drain();
        break;
      }
      if (got === 0) await sleep(opts.pollMs ?? 150);
    }
    split.end((line) => {
      if (line.trim()) onLine(line);
    });
    return { found: file !== null || problem !== undefined, problem };
  } finally {
    (file as Deno.FsFile | null)?.close();
  }
}
