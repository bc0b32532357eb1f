/**
 * What `search` looks through, per project: the description, last-result.txt and the result text of
 * every run (newest first). Read cold from the files, or from a cache sharded by slug
 * (`.dispatch-index/search-v1-NN.json`) under the stat keys of `.dispatch-logs/`, project.json and
 * last-result.txt. A new run changes `.dispatch-logs/`, and the project is read again, reusing the texts
 * of result files already read: a result file is written once, when its run ends.
 */
import { readJsonObjectSafe, readTextSafe } from "./files.ts";
import {
  cacheable,
  joinKeys,
  mapLimit,
  RACY_MS,
  readIndexFile,
  readProjectSlugs,
  statKey,
  writeIndexFile,
} from "./freshness.ts";
import { type ProjectPaths, projectPaths, readProjectMeta } from "./project.ts";
import { listRunIds, runFiles } from "./runs.ts";

/** One run's result: its id, its result text (null when the object has none) and a problem reading it. */
export type SearchRun = [id: string, text: string | null, problem: string | null];

/** Everything search matches against in one project. */
export interface SearchSource {
  description: string;
  /** A problem reading project.json. */
  meta_problem: string | null;
  /** The text of last-result.txt, when it has one. */
  last_result: string | null;
  /** Runs with a result file, newest first. */
  runs: SearchRun[];
}

const SHARDS = 64;
const shardFile = (n: number) => `search-v1-${String(n).padStart(2, "0")}.json`;

interface Shard {
  v: 1;
  projects: Record<string, [key: string, source: SearchSource]>;
}

function isShard(v: unknown): v is Shard {
  const o = v as Shard;
  return !!o && o.v === 1 && !!o.projects && typeof o.projects === "object" && !Array.isArray(o.projects);
}

/** FNV-1a of the slug: which shard holds a project. */
function shardOf(slug: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < slug.length; i++) h = Math.imul(h ^ slug.charCodeAt(i), 0x01000193);
  return (h >>> 0) % SHARDS;
}

/**
 * Reads what search looks through in one project. `known` holds result texts already read, by run id.
 *
 * @example
 * ```ts
 * const src = await readSearchSource(projectPaths(dir, "task-api"));
 * ```
 */
export async function readSearchSource(
  paths: ProjectPaths,
  known: Map<string, string> = new Map(),
): Promise<SearchSource> {
  const [meta, last, ids] = await Promise.all([
    readProjectMeta(paths),
    readTextSafe(paths.lastResult),
    listRunIds(paths.logsDir),
  ]);
  const runs = await mapLimit(ids.reverse(), 8, async (id): Promise<SearchRun | null> => {
    const text = known.get(id);
    if (text !== undefined) return [id, text, null];
    const r = await readJsonObjectSafe(runFiles(paths.logsDir, id).result);
    if (!r.ok) return r.problem === "missing" ? null : [id, null, r.problem];
    return [id, typeof r.value.result === "string" ? r.value.result : null, null];
  });
  return {
    description: meta.meta?.description ?? "",
    meta_problem: meta.problem,
    last_result: last.ok ? last.text : null,
    runs: runs.filter((r): r is SearchRun => r !== null),
  };
}

export interface SearchScanOptions {
  /** false: a cold scan that neither reads nor writes the cache. */
  cache?: boolean;
  racyMs?: number;
}

/**
 * Calls `visit` with every project's search source, a shard at a time (memory stays bounded by one
 * shard), and returns how many projects had to be read from their files. Visiting order is not slug
 * order: callers sort.
 */
export async function scanSearchSources(
  projectsDir: string,
  visit: (slug: string, source: SearchSource) => void,
  opts: SearchScanOptions = {},
): Promise<{ read: number }> {
  const useCache = opts.cache ?? true;
  const racyMs = opts.racyMs ?? RACY_MS;
  const scanStart = Date.now();
  const groups: string[][] = Array.from({ length: SHARDS }, () => []);
  for (const slug of readProjectSlugs(projectsDir)) groups[shardOf(slug)].push(slug);
  let read = 0;
  for (let n = 0; n < SHARDS; n++) {
    const slugs = groups[n];
    const old = useCache ? readIndexFile(projectsDir, shardFile(n), isShard) : null;
    if (slugs.length === 0 && !old) continue;
    const next: Shard = { v: 1, projects: {} };
    const present = new Set(slugs);
    let changed = old !== null && Object.keys(old.projects).some((s) => !present.has(s));
    const stale: { slug: string; key: ReturnType<typeof joinKeys> }[] = [];
    for (const slug of slugs) {
      const paths = projectPaths(projectsDir, slug);
      const key = joinKeys([
        statKey(paths.logsDir),
        statKey(paths.projectJson),
        statKey(paths.lastResult) ?? MISSING,
      ]);
      const hit = old && Object.hasOwn(old.projects, slug) ? old.projects[slug] : null;
      if (key && hit && hit[0] === key.key) {
        next.projects[slug] = hit;
        visit(slug, hit[1]);
      } else stale.push({ slug, key });
    }
    read += stale.length;
    await mapLimit(stale, 8, async ({ slug, key }) => {
      const hit = old && Object.hasOwn(old.projects, slug) ? old.projects[slug] : null;
      const known = new Map<string, string>();
      for (const [id, text] of hit?.[1].runs ?? []) if (text !== null) known.set(id, text);
      const source = await readSearchSource(projectPaths(projectsDir, slug), known);
      if (cacheable(key, scanStart, racyMs)) {
        next.projects[slug] = [key.key, source];
        changed = true;
      } else if (hit) changed = true;
      visit(slug, source);
    });
    if (useCache && (changed || (!old && slugs.length > 0))) {
      await writeIndexFile(projectsDir, shardFile(n), next);
    }
  }
  return { read };
}

/** last-result.txt may be absent (a project whose first run is still going): a fixed key then. */
const MISSING = { key: "-", changed: 0 };
