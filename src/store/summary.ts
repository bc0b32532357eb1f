/**
 * What `list` shows of one project, read from its files: project.json, the names in `.dispatch-logs/`,
 * the last run's record or result file, and the totals of every run (runs.jsonl and the runs it lacks).
 * Nothing else (sessions and results are for `status`), so that the stat keys of `.dispatch-logs/`,
 * project.json and runs.jsonl are enough to know when a cached summary is stale.
 */
import { type ProjectTotals, readHistory, totalsOf } from "./history.ts";
import { inspectLock } from "./lock.ts";
import { projectAgent, type ProjectPaths, readProjectMetaSync } from "./project.ts";
import {
  foreignProblem,
  listedPath,
  type LogsListing,
  readRunSync,
  type RunSummary,
  scanLogs,
} from "./runs.ts";
import { isGoingOn, settleRecord } from "./record.ts";

/** The last run as `list` shows it (`status` shows the whole run). */
export type ListRun = Pick<
  RunSummary,
  "run_id" | "command" | "status" | "started" | "ended" | "duration_ms" | "num_turns" | "cost_usd"
>;

/** What the text of `list` shows of one project. */
export interface ListLine {
  slug: string;
  project_dir: string;
  description: string | null;
  updated: string | null;
  /** "running" while a dispatcher holds the lock, else the last run's status, "none" without runs. */
  status: string;
  totals: Pick<ProjectTotals, "runs" | "cost_usd" | "runs_without_cost">;
  /** One line per missing, empty or corrupt file. */
  problems: string[];
  /** A project in a repository (`run --repo`): the repository and the project's branch (absent otherwise). */
  repo?: string;
  branch?: string;
}

/** A run's own cost and the figure its CLI reported (see `correctCosts`). */
export type LastCost = { cost_usd: number | null; reported_cost_usd?: number | null };

/** One project in `list --json`. */
export interface ListEntry extends ListLine {
  /** The agent of the project's work session (project.json; none: "claude"). */
  agent: string | null;
  created: string | null;
  runs: number;
  last_run: ListRun | null;
  /** Cost and tokens summed over every run. */
  totals: ProjectTotals;
}

/**
 * Reads one project's list entry. `volatile` says it depends on more than its files (a lock, or a run
 * recorded as running whose dispatcher may be gone), so it must not be cached; `indexed` that runs.jsonl
 * exists (its key then takes part in the freshness check).
 *
 * @example
 * ```ts
 * const { entry } = await readListEntry(projectPaths(dir, "task-api"));
 * console.log(entry.status);
 * ```
 */
export async function readListEntry(
  paths: ProjectPaths,
): Promise<{ entry: ListEntry; volatile: boolean; indexed: boolean; lastCost: LastCost | null }> {
  const problems: string[] = [];
  // One listing of the logs folder answers which files exist: no file is tried that is not there, and
  // runs.jsonl is read once. Every read is synchronous (a fraction of an asynchronous op's cost).
  const listing = scanLogs(paths.logsDir);
  const runIds = listing.ids;
  const planted = foreignProblem(listing.foreign);
  if (planted) problems.push(planted);
  const metaRead = readProjectMetaSync(
    paths,
    listedAs(listing, paths.projectJson, "project.json") === "absent",
  );
  const history = await readHistory(paths.logsDir, listing)
    .catch(() => ({ entries: [], indexed: false, read: [] as RunSummary[] }));
  if (metaRead.problem) problems.push(metaRead.problem);
  // The last run as the history read it (a run runs.jsonl lacks), else read now.
  const lastId = runIds.at(-1);
  let run = lastId
    ? history.read.find((s) => s.run_id === lastId) ?? readRunSync(paths.logsDir, lastId, listing)
    : null;
  if (run?.problem) problems.push(run.problem);
  // Only an existing lock file needs a look at its holder (a stat for every project would cost more; the
  // listing already shows whether it is there).
  const lockListed = listedAs(listing, paths.lock, "lock");
  const lock = (run && isGoingOn(run.status)) ||
      (lockListed === "unknown" ? await hasLockFile(paths) : lockListed !== "absent")
    ? await inspectLock(paths.lock).catch(() => null)
    : null;
  if (run && isGoingOn(run.status)) {
    const settled = settleRecord(run, lock);
    if (settled.status !== run.status) {
      run = settled;
      problems.push(`run ${run.run_id} never finished (its dispatcher is gone); its session can be resumed`);
    }
  }
  // The last run's own cost as the history has it (a resume of the earlier tool's reports the session's
  // total): status shows it without reading every run again.
  const own = history.entries.find((e) => e.run_id === lastId);
  const last: ListRun | null = run
    ? {
      run_id: run.run_id,
      command: run.command,
      status: run.status,
      started: run.started,
      ended: run.ended,
      duration_ms: run.duration_ms,
      num_turns: run.num_turns,
      cost_usd: run.cost_usd,
    }
    : null;
  return {
    entry: {
      slug: paths.slug,
      project_dir: paths.dir,
      description: metaRead.meta?.description ?? null,
      agent: projectAgent(metaRead.meta),
      created: metaRead.meta?.created || null,
      updated: metaRead.meta?.updated || null,
      status: lock?.held ? "running" : last?.status ?? "none",
      runs: runIds.length,
      last_run: last,
      totals: totalsOf(history.entries),
      problems,
      ...repoOf(metaRead.meta),
    },
    indexed: history.indexed,
    lastCost: own ? { cost_usd: own.cost_usd, reported_cost_usd: own.reported_cost_usd } : null,
    volatile: lock !== null || run?.status === "abandoned" || (run !== null && isGoingOn(run.status)),
  };
}

/**
 * What the listing of the logs folder shows of `name` (not a run file's name) when `path` is that file of
 * the listed folder: there or not; "unknown" when the listing cannot say (the folder could not be listed,
 * or `path` is elsewhere).
 */
function listedAs(listing: LogsListing, path: string, name: string): "absent" | "present" | "unknown" {
  if (listing.names === null || path !== listedPath(listing, name)) return "unknown";
  return listing.names.has(name) ? "present" : "absent";
}

async function hasLockFile(paths: ProjectPaths): Promise<boolean> {
  try {
    await Deno.lstat(paths.lock);
    return true;
  } catch {
    return false;
  }
}

/** The repository and branch project.json records for a project in a repository, else nothing. */
export function repoOf(meta: Record<string, unknown> | null): { repo?: string; branch?: string } {
  return typeof meta?.repo === "string" && typeof meta.branch === "string"
    ? { repo: meta.repo, branch: meta.branch }
    : {};
}
