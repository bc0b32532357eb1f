/**
 * `list` over many projects: the entries of `readListEntry`, cached in one file
 * (`.dispatch-index/list-v1.json`) under the stat keys of each project's `.dispatch-logs/` folder and
 * project.json, and the projects folder's own key for the set of slugs. A listing costs a read of that
 * file and two stats per project; only projects whose keys changed are read again. Deleting, corrupting or
 * racing the cache only costs time: what it holds is always re-derivable from the project files.
 */
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
import { projectPaths } from "./project.ts";
import { type ListEntry, readListEntry } from "./summary.ts";

const FILE = "list-v1.json";

/** A cached entry: slug, stat key (null: not cached) and the entry without slug and folder. */
type Row = [string, string | null, Omit<ListEntry, "slug" | "project_dir"> | null];

interface ListIndex {
  v: 1;
  /** The projects folder's key when `rows` holds every slug in it; null when it must be read again. */
  dir: string | null;
  rows: Row[];
}

function isListIndex(v: unknown): v is ListIndex {
  const o = v as ListIndex;
  return !!o && o.v === 1 && (o.dir === null || typeof o.dir === "string") && Array.isArray(o.rows) &&
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

  const entries = new Array<ListEntry>(slugs.length);
  const rows = new Array<Row>(slugs.length);
  const stale: { i: number; key: string | null; keep: boolean }[] = [];
  for (let i = 0; i < slugs.length; i++) {
    const slug = slugs[i];
    const paths = projectPaths(projectsDir, slug);
    const key = joinKeys([statKey(paths.logsDir), statKey(paths.projectJson)]);
    const row = sameSet ? old.rows[i] : cached.get(slug);
    if (key && row && row[1] === key.key && row[2]) {
      entries[i] = { slug, project_dir: paths.dir, ...row[2] };
      rows[i] = row;
    } else {
      stale.push({ i, key: key?.key ?? null, keep: cacheable(key, scanStart, racyMs) });
    }
  }
  await mapLimit(stale, 16, async (s) => {
    const { entry, volatile } = await readListEntry(projectPaths(projectsDir, slugs[s.i]));
    entries[s.i] = entry;
    const { slug: _s, project_dir: _d, ...rest } = entry;
    rows[s.i] = [slugs[s.i], s.keep && !volatile ? s.key : null, s.keep && !volatile ? rest : null];
  });

  const dir = cacheable(dirKey, scanStart, racyMs) ? dirKey.key : null;
  // Rewrite only when what would be cached differs: entries that are never cached (running, racy) are
  // read each time without rewriting the file each time.
  const changed = !old || old.dir !== dir || old.rows.length !== rows.length ||
    rows.some((r, i) => !sameSet && cached.get(r[0])?.[1] !== r[1] || sameSet && old.rows[i][1] !== r[1]);
  if (useCache && changed) await writeIndexFile(projectsDir, FILE, { v: 1, dir, rows } satisfies ListIndex);
  return { entries, read: stale.length };
}
