/**
 * Reads what a project's files say, for status, list and search. Tolerant by design: projects written
 * by the earlier bash tool (no run records) and damaged files are reported, never fatal.
 */
import { describeProblem, readTextSafe } from "./files.ts";
import { readHistory } from "./history.ts";
import { inspectLock, type LockState } from "./lock.ts";
import { projectAgent, type ProjectPaths, readProjectMeta, readSessionId } from "./project.ts";
import { foreignProblem, listRunIds, listRuns, readRun, type RunSummary } from "./runs.ts";
import { isGoingOn, resumable, settleRecord } from "./record.ts";
import { type LastCost, repoOf } from "./summary.ts";

export interface ProjectView {
  slug: string;
  project_dir: string;
  description: string | null;
  /** The agent of the project's work session (project.json; none: "claude"). */
  agent: string | null;
  created: string | null;
  updated: string | null;
  session_id: string | null;
  review_session_id: string | null;
  runs: number;
  last_run: RunSummary | null;
  last_result: string | null;
  lock: { held: boolean; reason: string } | null;
  /** One line per missing, empty or corrupt file. */
  problems: string[];
  /** A project in a repository (`run --repo`): the repository and the project's branch (absent otherwise). */
  repo?: string;
  branch?: string;
}

/**
 * Reads one project. `withResult` also reads last-result.txt (status and search, not list); `runs` gives
 * the run count and last run id when the caller already knows them (status's cache), saving a listing of
 * `.dispatch-logs/`.
 */
export async function inspectProject(
  paths: ProjectPaths,
  opts: {
    withResult: boolean;
    runs?: { run_count: number; last_run_id: string | null; last_cost?: LastCost | null };
  },
): Promise<ProjectView> {
  const problems: string[] = [];
  const [metaRead, session, review, runs, lock] = await Promise.all([
    readProjectMeta(paths),
    readSessionId(paths.lastSessionId),
    readSessionId(paths.lastReviewSessionId),
    opts.runs ?? listRunIds(paths.logsDir).then((ids) => ({
      run_count: ids.length,
      last_run_id: ids.at(-1) ?? null,
    })),
    inspectLock(paths.lock).catch(() => null as LockState | null),
  ]);
  if (metaRead.problem) problems.push(metaRead.problem);
  const planted = foreignProblem(listRuns(paths.logsDir).foreign);
  if (planted) problems.push(planted);
  if (session.problem && session.problem !== "missing") problems.push(`last-session-id ${session.problem}`);
  if (session.problem === "missing" && runs.run_count > 0) problems.push("last-session-id missing");
  const lastRun = runs.last_run_id ? await readRun(paths.logsDir, runs.last_run_id) : null;
  if (lastRun?.problem) problems.push(lastRun.problem);
  // A run recorded before runs kept their own cost (the earlier tool's, or an older dispatch-cc's): on a
  // resume its cost is the session's running total, corrected with the session's earlier runs.
  if (lastRun && lastRun.reported_cost_usd === undefined && lastRun.cost_usd !== null && lastRun.session_id) {
    // The index's figure for this run when it has one (reading every run of a big project costs more).
    const own = opts.runs?.last_run_id === lastRun.run_id && opts.runs.last_cost !== undefined
      ? opts.runs.last_cost
      : (await readHistory(paths.logsDir).catch(() => null))?.entries.find((e) =>
        e.run_id === lastRun.run_id
      );
    if (own) Object.assign(lastRun, { cost_usd: own.cost_usd, reported_cost_usd: own.reported_cost_usd });
  }
  if (lastRun && isGoingOn(lastRun.status)) {
    const settled = settleRecord(lastRun, lock);
    if (settled.status !== lastRun.status) {
      Object.assign(lastRun, settled);
      problems.push(
        `run ${lastRun.run_id} never finished (its dispatcher is gone); ${resumable(lastRun)}`,
      );
    }
  }
  let lastResult: string | null = null;
  if (opts.withResult) {
    const r = await readTextSafe(paths.lastResult);
    if (r.ok) lastResult = r.text.replace(/\n$/, "");
    // A first run still going on has written no result yet: that is not a problem.
    else if (r.problem !== "missing" || runs.run_count > (lastRun && isGoingOn(lastRun.status) ? 1 : 0)) {
      problems.push(`last-result.txt ${describeProblem(r)}`);
    }
  }
  return {
    slug: paths.slug,
    project_dir: paths.dir,
    description: metaRead.meta?.description ?? null,
    agent: projectAgent(metaRead.meta),
    created: metaRead.meta?.created || null,
    updated: metaRead.meta?.updated || null,
    session_id: session.id,
    review_session_id: review.id,
    runs: runs.run_count,
    last_run: lastRun,
    last_result: lastResult,
    lock: lock ? { held: lock.held, reason: lock.reason } : null,
    problems,
    ...repoOf(metaRead.meta),
  };
}
