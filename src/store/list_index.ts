/**
 * `list` over many projects: the entries of `readListEntry`, cached under the stat keys of each project's
 * `.dispatch-logs/` folder, project.json and (when it exists) runs.jsonl, and the projects folder's own key
 * for the set of slugs. Two files, so that the text listing parses only what it shows:
 * `.dispatch-index/list-v3.json` holds each project's key and list line, `list-v3-details.json` the rest
 * of its `list --json` entry. A listing costs a read of one or both files and two or three stats per
 * project; only projects whose keys changed are read again. Deleting, corrupting or racing the cache only
 * costs time: what it holds is always re-derivable from the project files.
 */
import { join } from "../paths.ts";
import {
  cacheable,
  dropOldVersions,
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
import { type ListEntry, type ListLine, readListEntry } from "./summary.ts";

const LINES = "list-v3.json";
const DETAILS = "list-v3-details.json";

/**
 * A list line without slug and folder, as a tuple (tuples are a fraction of the objects' size to parse
 * at 100,000 projects): updated, status, description, problems, then the totals' runs, cost and runs
 * without cost.
 */
type Line = [string | null, string, string | null, string[], number, number, number];
/** The rest of a `list --json` entry: created, run count, last run, token totals. */
type Detail = [
  string | null,
  number,
  | [string, string | null, string, string | null, string | null, number | null, number | null, number | null]
  | null,
  [number, number, number, number, number],
];

/** slug, stat key (null: not cached), 1 when the key includes runs.jsonl (0: it did not exist then, and
 * creating it changes the folder's mtime), and the line. */
type LineRow = [slug: string, key: number | null, indexed: 0 | 1, line: Line | null];
/** slug, the key its detail was read under, the detail; null where a line is not cached. */
type DetailRow = [slug: string, key: number, detail: Detail] | null;

interface LinesFile {
  v: 3;
  /** The projects folder's key when `rows` holds every slug in it; null when it must be read again. */
  dir: number | null;
  rows: LineRow[];
}
interface DetailsFile {
  v: 3;
  /** Row i belongs to row i of the lines file (slug and key say so). */
  rows: DetailRow[];
}

// The files' shapes; each row's content is checked where it is used (a hand-edited or foreign cache may
// hold anything).
const isLinesFile = (v: unknown): v is LinesFile => {
  const o = v as LinesFile;
  return !!o && o.v === 3 && (o.dir === null || typeof o.dir === "number") && Array.isArray(o.rows) &&
    o.rows.every((r) => Array.isArray(r) && typeof r[0] === "string");
};
const isDetailsFile = (v: unknown): v is DetailsFile => {
  const o = v as DetailsFile;
  return !!o && o.v === 3 && Array.isArray(o.rows) && o.rows.every((r) => r === null || Array.isArray(r));
};
const isLine = (l: unknown): l is Line =>
  Array.isArray(l) && l.length === 7 && typeof l[1] === "string" && Array.isArray(l[3]) &&
  typeof l[4] === "number" && typeof l[5] === "number" && typeof l[6] === "number";
const isDetail = (d: unknown): d is Detail =>
  Array.isArray(d) && d.length === 4 && typeof d[1] === "number" &&
  (d[2] === null || (Array.isArray(d[2]) && d[2].length === 8)) && Array.isArray(d[3]) && d[3].length === 5;

function lineOf(e: ListEntry): Line {
  const t = e.totals;
  return [e.updated, e.status, e.description, e.problems, t.runs, t.cost_usd, t.runs_without_cost];
}

function detailOf(e: ListEntry): Detail {
  const r = e.last_run;
  const k = e.totals.tokens;
  return [
    e.created,
    e.runs,
    r ? [r.run_id, r.command, r.status, r.started, r.ended, r.duration_ms, r.num_turns, r.cost_usd] : null,
    [k.input_tokens, k.output_tokens, k.cache_creation_input_tokens, k.cache_read_input_tokens, k.total],
  ];
}

const lineEntry = (slug: string, dir: string, l: Line): ListLine => ({
  slug,
  project_dir: dir,
  description: l[2],
  updated: l[0],
  status: l[1],
  totals: { runs: l[4], cost_usd: l[5], runs_without_cost: l[6] },
  problems: l[3],
});

/** The whole entry, its fields in the order readListEntry gives them (`list --json` prints that order). */
function fullEntry(slug: string, dir: string, l: Line, d: Detail): ListEntry {
  const r = d[2];
  const k = d[3];
  return {
    slug,
    project_dir: dir,
    description: l[2],
    created: d[0],
    updated: l[0],
    status: l[1],
    runs: d[1],
    last_run: r
      ? {
        run_id: r[0],
        command: r[1],
        status: r[2],
        started: r[3],
        ended: r[4],
        duration_ms: r[5],
        num_turns: r[6],
        cost_usd: r[7],
      }
      : null,
    totals: {
      runs: l[4],
      cost_usd: l[5],
      runs_without_cost: l[6],
      tokens: {
        input_tokens: k[0],
        output_tokens: k[1],
        cache_creation_input_tokens: k[2],
        cache_read_input_tokens: k[3],
        total: k[4],
      },
    },
    problems: l[3],
  };
}

export interface ListOptions {
  /** false: a cold scan that neither reads nor writes the cache. */
  cache?: boolean;
  /** See RACY_MS (tests shorten it). */
  racyMs?: number;
}

/** The entries and how many of them had to be read from the project files. */
export interface Listing<E> {
  entries: E[];
  read: number;
}

/**
 * Lists every project with its whole `list --json` entry, sorted by slug.
 *
 * @example
 * ```ts
 * const { entries } = await listProjects(config.projectsDir);
 * ```
 */
export function listProjects(projectsDir: string, opts: ListOptions = {}): Promise<Listing<ListEntry>> {
  return scan(projectsDir, opts, true) as Promise<Listing<ListEntry>>;
}

/**
 * Lists every project with what the text of `list` shows, sorted by slug: cheaper than listProjects
 * (the details file is read only when the cache must be rewritten).
 */
export function listLines(projectsDir: string, opts: ListOptions = {}): Promise<Listing<ListLine>> {
  return scan(projectsDir, opts, false);
}

async function scan(projectsDir: string, opts: ListOptions, details: boolean): Promise<Listing<ListLine>> {
  const useCache = opts.cache ?? true;
  const racyMs = opts.racyMs ?? RACY_MS;
  const scanStart = Date.now();
  const dirKey = statKey(projectsDir);
  if (!dirKey) return { entries: [], read: 0 };
  const old = useCache ? readIndexFile(projectsDir, LINES, isLinesFile) : null;
  const readDetails = () => useCache ? readIndexFile(projectsDir, DETAILS, isDetailsFile)?.rows ?? [] : [];
  let oldDetails = details ? readDetails() : null;
  const sameSet = old !== null && old.dir === dirKey.key;
  const slugs = sameSet ? old.rows.map((r) => r[0]) : readProjectSlugs(projectsDir);
  const byslug = new Map<string, number>(old && !sameSet ? old.rows.map((r, i) => [r[0], i]) : []);

  const base = join(projectsDir, "x").slice(0, -2); // projectsDir as join() writes it
  const entries = new Array<ListLine>(slugs.length);
  const rows = new Array<LineRow>(slugs.length);
  /** Details read now, by index; undefined where the old file's row is kept. */
  const fresh = new Array<DetailRow | undefined>(slugs.length);
  const oldAt = new Array<number>(slugs.length);
  const stale: { i: number; key: StatKey | null }[] = [];
  for (let i = 0; i < slugs.length; i++) {
    const slug = slugs[i];
    // Paths by concatenation, not projectPaths(): its joins cost more than the stats at 100,000 projects.
    const dir = `${base}/${slug}`;
    const at = sameSet ? i : byslug.get(slug) ?? -1;
    oldAt[i] = at;
    const row = at >= 0 ? old!.rows[at] : undefined;
    const key = joinKeys([statKey(`${dir}/.dispatch-logs`), statKey(`${dir}/.dispatch-logs/project.json`)]);
    const full = key && row?.[2] === 1 ? joinKeys([key, statKey(`${dir}/.dispatch-logs/runs.jsonl`)]) : key;
    const line = full && row && row[1] === full.key && isLine(row[3]) ? row[3] : null;
    if (line && !details) {
      entries[i] = lineEntry(slug, dir, line);
      rows[i] = row!;
      continue;
    }
    const d = line && oldDetails ? oldDetails[at] : undefined;
    if (line && d && d[0] === slug && d[1] === full!.key && isDetail(d[2])) {
      entries[i] = fullEntry(slug, dir, line, d[2]);
      rows[i] = row!;
    } else {
      stale.push({ i, key });
    }
  }
  await mapLimit(stale, 16, async (s) => {
    const paths = projectPaths(projectsDir, slugs[s.i]);
    const { entry, volatile, indexed } = await readListEntry(paths);
    entries[s.i] = details ? entry : lineEntry(entry.slug, entry.project_dir, lineOf(entry));
    // runs.jsonl's key is taken after the read: an append during it is after scanStart, so racy.
    const key = indexed ? joinKeys([s.key, statKey(historyPath(paths.logsDir))]) : s.key;
    const keep = cacheable(key, scanStart, racyMs) && !volatile;
    rows[s.i] = [slugs[s.i], keep ? key.key : null, indexed ? 1 : 0, keep ? lineOf(entry) : null];
    fresh[s.i] = keep ? [slugs[s.i], key.key, detailOf(entry)] : null;
  });

  const dir = cacheable(dirKey, scanStart, racyMs) ? dirKey.key : null;
  // Rewrite only when what would be cached differs: entries that are never cached (running, racy) are
  // read each time without rewriting the files each time.
  const changed = !old || old.dir !== dir || old.rows.length !== rows.length ||
    rows.some((r, i) => oldAt[i] < 0 || old.rows[oldAt[i]][1] !== r[1]) ||
    stale.some((s) => fresh[s.i] !== null); // a detail missing from the details file, now read
  if (useCache && changed) {
    await writeIndexFile(projectsDir, LINES, { v: 3, dir, rows } satisfies LinesFile);
    // The details file follows the lines file row for row: rewritten when a row moved or was read again
    // (a new key for the projects folder alone changes nothing in it). The text listing did not read it:
    // it takes the rows it keeps from the old file.
    const reread = stale.some((s) => fresh[s.i] !== null);
    const moved = !old || old.rows.length !== rows.length || rows.some((r, i) => oldAt[i] !== i);
    const detailsChanged = reread || moved || rows.some((r, i) => old!.rows[i][1] !== r[1]);
    if (detailsChanged) {
      oldDetails ??= readDetails();
      const detailRows = rows.map((r, i): DetailRow => {
        const d = fresh[i] !== undefined ? fresh[i] : oldDetails![oldAt[i]];
        return d && d[0] === r[0] && d[1] === r[1] ? d : null;
      });
      await writeIndexFile(projectsDir, DETAILS, { v: 3, rows: detailRows } satisfies DetailsFile);
    }
    await dropOldVersions(projectsDir);
  }
  return { entries, read: stale.length };
}
