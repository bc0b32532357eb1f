/**
 * What `status` needs of all a project's runs (their totals, how many there are and the last one's id),
 * cached per project in `.dispatch-index/status-v2/<slug>.json` under the stat keys of its
 * `.dispatch-logs/` folder and, when it has one, of runs.jsonl. A run adds files to `.dispatch-logs/` (the
 * folder's mtime changes) and appends to runs.jsonl (its mtime and size change), so a project with
 * thousands of runs costs two stats and one small read instead of listing and reading every run. Runs of
 * the earlier bash tool leave no index: without this cache their result files were all read each time.
 */
import {
  cacheable,
  joinKeys,
  RACY_MS,
  readIndexFile,
  type StatKey,
  statKey,
  writeIndexFile,
} from "./freshness.ts";
import { historyPath, type ProjectTotals, readHistory, totalsOf } from "./history.ts";
import { listRunIds } from "./runs.ts";

/** A project's runs as `status` shows them. */
export interface RunsSummary {
  totals: ProjectTotals;
  /** Run ids in `.dispatch-logs/` (the runs count, and the last one). */
  run_count: number;
  last_run_id: string | null;
}

interface SummaryFile extends RunsSummary {
  v: 2;
  key: number;
  /** Whether runs.jsonl existed: its creation changes the folder's mtime, its appends only its own. */
  indexed: boolean;
}

function isSummaryFile(v: unknown): v is SummaryFile {
  const o = v as SummaryFile;
  return !!o && o.v === 2 && typeof o.key === "number" && typeof o.indexed === "boolean" &&
    typeof o.run_count === "number" && (o.last_run_id === null || typeof o.last_run_id === "string") &&
    !!o.totals && typeof o.totals.runs === "number" && typeof o.totals.cost_usd === "number" &&
    typeof o.totals.runs_without_cost === "number" && !!o.totals.tokens &&
    typeof o.totals.tokens.total === "number";
}

/** The freshness key of what totals are read from; `indexed` says whether runs.jsonl takes part. */
export function totalsKey(logsDir: string, logsKey: StatKey | null, indexed: boolean): StatKey | null {
  return indexed ? joinKeys([logsKey, statKey(historyPath(logsDir))]) : logsKey;
}

export interface SummaryOptions {
  /** false: read the runs, neither reading nor writing the cache. */
  cache?: boolean;
  racyMs?: number;
}

/**
 * A project's runs summary, from the cache when its keys are unchanged, else from the files; never
 * throws. Deleting the cache, or a projects folder where it cannot be written, only costs time.
 *
 * @example
 * ```ts
 * const { totals } = await cachedRunsSummary(config.projectsDir, projectPaths(dir, "api"));
 * ```
 */
export async function cachedRunsSummary(
  projectsDir: string,
  paths: { slug: string; logsDir: string },
  opts: SummaryOptions = {},
): Promise<RunsSummary> {
  const useCache = opts.cache ?? true;
  const scanStart = Date.now();
  const name = `status-v2/${paths.slug}.json`;
  const logsKey = statKey(paths.logsDir);
  const old = useCache ? readIndexFile(projectsDir, name, isSummaryFile) : null;
  if (old && logsKey) {
    const key = totalsKey(paths.logsDir, logsKey, old.indexed);
    if (key && key.key === old.key) {
      return { totals: old.totals, run_count: old.run_count, last_run_id: old.last_run_id };
    }
  }
  let summary: RunsSummary;
  let indexed: boolean;
  try {
    const ids = await listRunIds(paths.logsDir);
    const h = await readHistory(paths.logsDir, ids);
    summary = { totals: totalsOf(h.entries), run_count: ids.length, last_run_id: ids.at(-1) ?? null };
    indexed = h.indexed;
  } catch {
    const ids = await listRunIds(paths.logsDir);
    return { totals: totalsOf([]), run_count: ids.length, last_run_id: ids.at(-1) ?? null };
  }
  // Anything that changed after scanStart (during the read) makes the key racy, so it is not cached.
  const key = totalsKey(paths.logsDir, logsKey, indexed);
  if (useCache && cacheable(key, scanStart, opts.racyMs ?? RACY_MS)) {
    await writeIndexFile(
      projectsDir,
      name,
      { v: 2, key: key.key, indexed, ...summary } satisfies SummaryFile,
    );
  }
  return summary;
}
