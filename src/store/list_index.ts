/**
 * `list` over many projects: the entries of `readListEntry`, cached in one file
 * (`.dispatch-index/list-v2.json`) under the stat keys of each project's `.dispatch-logs/` folder,
 * project.json and (when it exists) runs.jsonl, and the projects folder's own key for the set of slugs. A
 * listing costs a read of that file and two or three stats per project; only projects whose keys changed
 * are read again. Deleting, corrupting or
 * racing the cache only costs time: what it holds is always re-derivable from the project files.
 */
import { join } from "../paths.ts";
import {
  cacheable,
  joinKeys,
  mapLimit,
  RACY_MS,
  readIndexFile,
  readProjectSlugs,
  type StatKey,
  statKey,
  writeIndexFile,
} from "./freshness.ts";
import { historyPath } from "./history.ts";
import { projectPaths } from "./project.ts";
import { type ListEntry, readListEntry } from "./summary.ts";

const FILE = "list-v2.json";

/**
 * A cached entry: slug, stat key (null: not cached), the entry without slug and folder, and 1 when the
 * key includes runs.jsonl (0: it did not exist then, and creating it changes the folder's mtime).
 */
type Row = [string, string | null, Omit<ListEntry, "slug" | "project_dir"> | null, 0 | 1];

interface ListIndex {
  v: 2;
  /** The projects folder's key when `rows` holds every slug in it; null when it must be read again. */
  dir: string | null;
  rows: Row[];
}

function isListIndex(v: unknown): v is ListIndex {
  const o = v as ListIndex;
  return !!o && o.v === 2 && (o.dir === null || typeof o.dir === "string") && Array.isArray(o.rows) &&
    o.rows.every((r) => Array.isArray(r) && typeof r[0] === "string");
}

export interface ListOptions {
  /** false: a cold scan that neither reads nor writes the cache. */
  cache?: boolean;
  /** See RACY_MS (tests shorten it). */
  racyMs?: number;
}

/** The entries and how many of them had to be read from the project files. */
export interface Listing {
  entries: ListEntry[];
  read: number;
}

/**
 * Lists every project, sorted by slug.
 *
 * @example
 * ```ts
 * const { entries } = await listProjects(config.projectsDir);
 * ```
 */
export async function listProjects(projectsDir: string, opts: ListOptions = {}): Promise<Listing> {
  const useCache = opts.cache ?? true;
  const racyMs = opts.racyMs ?? RACY_MS;
  const scanStart = Date.now();
  const dirKey = statKey(projectsDir);
  if (!dirKey) return { entries: [], read: 0 };
  const old = useCache ? readIndexFile(projectsDir, FILE, isListIndex) : null;
  const sameSet = old !== null && old.dir === dirKey.key;
  const slugs = sameSet ? old.rows.map((r) => r[0]) : readProjectSlugs(projectsDir);
  const cached = new Map<string, Row>(old && !sameSet ? old.rows.map((r) => [r[0], r]) : []);

  const base = join(projectsDir, "x").slice(0, -2); // projectsDir as join() writes it
  const entries = new Array<ListEntry>(slugs.length);
  const rows = new Array<Row>(slugs.length);
  const stale: { i: number; key: StatKey | null }[] = [];
  for (let i = 0; i < slugs.length; i++) {
    const slug = slugs[i];
    // Paths by concatenation, not projectPaths(): its joins cost more than the stats at 100,000 projects.
    const dir = `${base}/${slug}`;
    const row = sameSet ? old.rows[i] : cached.get(slug);
    const key = joinKeys([statKey(`${dir}/.dispatch-logs`), statKey(`${dir}/.dispatch-logs/project.json`)]);
    const full = key && row?.[3] === 1 ? joinKeys([key, statKey(`${dir}/.dispatch-logs/runs.jsonl`)]) : key;
    if (full && row && row[1] === full.key && row[2]) {
      entries[i] = { slug, project_dir: dir, ...row[2] };
      rows[i] = row;
    } else {
      stale.push({ i, key });
    }
  }
  await mapLimit(stale, 16, async (s) => {
    const paths = projectPaths(projectsDir, slugs[s.i]);
    const { entry, volatile, indexed } = await readListEntry(paths);
    entries[s.i] = entry;
    const { slug: _s, project_dir: _d, ...rest } = entry;
    // runs.jsonl's key is taken after the read: an append during it is after scanStart, so racy.
    const key = indexed ? joinKeys([s.key, statKey(historyPath(paths.logsDir))]) : s.key;
    const keep = cacheable(key, scanStart, racyMs) && !volatile;
    rows[s.i] = [slugs[s.i], keep ? key.key : null, keep ? rest : null, indexed ? 1 : 0];
  });

  const dir = cacheable(dirKey, scanStart, racyMs) ? dirKey.key : null;
  // Rewrite only when what would be cached differs: entries that are never cached (running, racy) are
  // read each time without rewriting the file each time.
  const changed = !old || old.dir !== dir || old.rows.length !== rows.length ||
    rows.some((r, i) => !sameSet && cached.get(r[0])?.[1] !== r[1] || sameSet && old.rows[i][1] !== r[1]);
  if (useCache && changed) await writeIndexFile(projectsDir, FILE, { v: 2, dir, rows } satisfies ListIndex);
  return { entries, read: stale.length };
}
