/**
 * `list` over many projects: the entries of `readListEntry`, cached under the stat keys of each project's
 * `.dispatch-logs/` folder, project.json and (when it exists) runs.jsonl, and the projects folder's own key
 * for the set of slugs. Two independent caches, so that each form of `list` reads only what it prints:
 * `.dispatch-index/list-v3.json` holds each project's list line (the text), `list-v3-details.txt` each
 * project's `list --json` entry as printed (pretty JSON, so that a listing of 100,000 projects is put
 * together, not parsed and printed again). A listing costs a read of its file and two or three stats per
 * project; only projects whose keys changed are read again. Deleting, corrupting or racing a cache only
 * costs time: what it holds is always re-derivable from the project files.
 */
import { join } from "../paths.ts";
import {
  cacheable,
  dropOldVersions,
  INDEX_DIR,
  joinKeys,
  mapLimit,
  RACY_MS,
  readIndexWith,
  readProjectSlugs,
  type StatKey,
  statKey,
  writeIndexFile,
} from "./freshness.ts";
import { historyPath } from "./history.ts";
import { projectPaths } from "./project.ts";
import { type ListEntry, type ListLine, readListEntry } from "./summary.ts";

/**
 * One cached project: slug, stat key (null: not cached), 1 when the key includes runs.jsonl (0: it did not
 * exist then, and creating it changes the folder's mtime), and what the cache keeps of its entry.
 */
type Row<P> = [slug: string, key: number | null, indexed: 0 | 1, payload: P | null];

interface Index<P> {
  /** The projects folder's key when `rows` holds every slug in it; null when it must be read again. */
  dir: number | null;
  rows: Row<P>[];
}

/** How one cache file keeps its rows. */
interface Codec<P> {
  file: string;
  /** The file's rows; null when it is missing, unreadable, corrupt or of another version. */
  parse(text: string): Index<P> | null;
  format(index: Index<P>): string;
  /** What the cache keeps of an entry just read. */
  payloadOf(entry: ListEntry): P;
  /** Is a cached payload whole (a hand-edited or foreign cache may hold anything)? */
  usable(p: unknown): p is P;
}

const isRow = (r: unknown): r is Row<unknown> =>
  Array.isArray(r) && r.length === 4 && typeof r[0] === "string" &&
  (r[1] === null || typeof r[1] === "number");

/**
 * A list line without slug and folder, as a tuple (tuples are a fraction of the objects' size to parse
 * at 100,000 projects): updated, status, description, problems, then the totals' runs, cost and runs
 * without cost.
 */
type Line =
  | [string | null, string, string | null, string[], number, number, number]
  // A project in a repository: then its repository and branch.
  | [string | null, string, string | null, string[], number, number, number, string, string];

const LINES: Codec<Line> = {
  file: "list-v3.json",
  parse(text) {
    const o = JSON.parse(text);
    return o?.v === 3 && (o.dir === null || typeof o.dir === "number") && Array.isArray(o.rows) &&
        o.rows.every(isRow)
      ? o
      : null;
  },
  format: (index) => JSON.stringify({ v: 3, ...index }),
  payloadOf(e) {
    const t = e.totals;
    const line: Line = [
      e.updated,
      e.status,
      e.description,
      e.problems,
      t.runs,
      t.cost_usd,
      t.runs_without_cost,
    ];
    return e.repo !== undefined && e.branch !== undefined ? [...line, e.repo, e.branch] as Line : line;
  },
  usable: (l): l is Line =>
    Array.isArray(l) &&
    (l.length === 7 || l.length === 9 && typeof l[7] === "string" && typeof l[8] === "string") &&
    (l[0] === null || typeof l[0] === "string") &&
    typeof l[1] === "string" && (l[2] === null || typeof l[2] === "string") && Array.isArray(l[3]) &&
    l[3].every((p) => typeof p === "string") && typeof l[4] === "number" && typeof l[5] === "number" &&
    typeof l[6] === "number",
};

const lineEntry = (slug: string, dir: string, l: Line): ListLine => ({
  slug,
  project_dir: dir,
  description: l[2],
  updated: l[0],
  status: l[1],
  totals: { runs: l[4], cost_usd: l[5], runs_without_cost: l[6] },
  problems: l[3],
  ...(l.length === 9 ? { repo: l[7], branch: l[8] } : {}),
});

/**
 * An entry's text in `list --json` after its slug and folder: its other fields as JSON.stringify(doc, null,
 * 2) prints them at that depth, and the closing brace.
 */
function entryTail(e: ListEntry): string {
  const { slug: _slug, project_dir: _dir, ...rest } = e;
  return "    " + JSON.stringify(rest, null, 2).slice(2).replaceAll("\n", "\n    ");
}

/** An entry's whole text in `list --json` (inside the projects array of the document). */
function entryText(slug: string, dir: string, tail: string): string {
  return `    {\n      "slug": ${JSON.stringify(slug)},\n      "project_dir": ${
    JSON.stringify(dir)
  },\n${tail}`;
}

/**
 * The details file: a JSON header line (`{"v":3,"dir":...,"rows":[[slug, key, indexed, length], ...]}`),
 * then every cached entry's tail back to back (length -1: not cached).
 */
const DETAILS: Codec<string> = {
  file: "list-v3-details.txt",
  parse(text) {
    const nl = text.indexOf("\n");
    if (nl === -1) return null;
    const o = JSON.parse(text.slice(0, nl));
    if (o?.v !== 3 || !(o.dir === null || typeof o.dir === "number") || !Array.isArray(o.rows)) return null;
    const rows: Row<string>[] = [];
    let at = nl + 1;
    for (const r of o.rows as unknown[]) {
      if (!isRow(r) || !Number.isSafeInteger(r[3]) || (r[3] as number) < -1) return null;
      const len = r[3] as number;
      rows.push([r[0], r[1], r[2], len < 0 ? null : text.slice(at, at + len)]);
      at += Math.max(0, len);
    }
    return at === text.length ? { dir: o.dir, rows } : null;
  },
  format(index) {
    const header = index.rows.map((r) => [r[0], r[1], r[2], r[3] === null ? -1 : r[3].length]);
    return JSON.stringify({ v: 3, dir: index.dir, rows: header }) + "\n" +
      index.rows.map((r) => r[3] ?? "").join("");
  },
  payloadOf: entryTail,
  usable: (t): t is string => typeof t === "string" && t.endsWith("}"),
};

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
 * Lists every project with what the text of `list` shows, sorted by slug.
 *
 * @example
 * ```ts
 * const { entries } = await listLines(config.projectsDir);
 * ```
 */
export async function listLines(projectsDir: string, opts: ListOptions = {}): Promise<Listing<ListLine>> {
  const { slugs, dirs, cached, fresh, read } = await scan(projectsDir, opts, LINES);
  return {
    entries: slugs.map((slug, i) =>
      lineEntry(slug, dirs[i], fresh[i] ? LINES.payloadOf(fresh[i]!) : cached[i]!)
    ),
    read,
  };
}

/**
 * Every project's `list --json` entry as JSON.stringify(document, null, 2) prints it inside the document's
 * projects array, sorted by slug: cached entries are neither parsed nor printed again.
 */
export async function listEntryTexts(projectsDir: string, opts: ListOptions = {}): Promise<string[]> {
  const { slugs, dirs, cached, fresh } = await scan(projectsDir, opts, DETAILS);
  return slugs.map((slug, i) => entryText(slug, dirs[i], cached[i] ?? entryTail(fresh[i]!)));
}

/**
 * Lists every project with its whole `list --json` entry, sorted by slug (from the details cache).
 *
 * @example
 * ```ts
 * const { entries } = await listProjects(config.projectsDir);
 * ```
 */
export async function listProjects(projectsDir: string, opts: ListOptions = {}): Promise<Listing<ListEntry>> {
  const { slugs, dirs, cached, fresh, read } = await scan(projectsDir, opts, DETAILS);
  return {
    entries: slugs.map((slug, i) =>
      fresh[i] ?? { slug, project_dir: dirs[i], ...JSON.parse("{" + cached[i]!) } as ListEntry
    ),
    read,
  };
}

/**
 * Every project of the folder, sorted by slug, with either what `codec`'s cache holds of it (when its
 * keys are unchanged) or its entry read now; rewrites the cache when what it would hold changed.
 */
async function scan<P>(projectsDir: string, opts: ListOptions, codec: Codec<P>) {
  const useCache = opts.cache ?? true;
  const racyMs = opts.racyMs ?? RACY_MS;
  const scanStart = Date.now();
  const dirKey = statKey(projectsDir);
  const old = useCache && dirKey ? readIndexWith(projectsDir, codec.file, codec.parse) : null;
  const sameSet = old !== null && dirKey !== null && old.dir === dirKey.key;
  const slugs = sameSet ? old.rows.map((r) => r[0]) : dirKey ? readProjectSlugs(projectsDir) : [];
  const byslug = new Map<string, number>(old && !sameSet ? old.rows.map((r, i) => [r[0], i]) : []);

  const base = join(projectsDir, "x").slice(0, -2); // projectsDir as join() writes it
  const n = slugs.length;
  const dirs = new Array<string>(n);
  const cached = new Array<P | null>(n).fill(null);
  const fresh = new Array<ListEntry | null>(n).fill(null);
  const rows = new Array<Row<P>>(n);
  const oldAt = new Array<number>(n);
  const stale: { i: number; key: StatKey | null }[] = [];
  for (let i = 0; i < n; i++) {
    const slug = slugs[i];
    // Paths by concatenation, not projectPaths(): its joins cost more than the stats at 100,000 projects.
    const dir = `${base}/${slug}`;
    dirs[i] = dir;
    const at = sameSet ? i : byslug.get(slug) ?? -1;
    oldAt[i] = at;
    const row = at >= 0 ? old!.rows[at] : undefined;
    const key = joinKeys([statKey(`${dir}/.dispatch-logs`), statKey(`${dir}/.dispatch-logs/project.json`)]);
    const full = key && row?.[2] === 1 ? joinKeys([key, statKey(`${dir}/.dispatch-logs/runs.jsonl`)]) : key;
    if (full && row && row[1] === full.key && codec.usable(row[3])) {
      cached[i] = row[3];
      rows[i] = row;
    } else {
      stale.push({ i, key });
    }
  }
  await mapLimit(stale, 16, async (s) => {
    const paths = projectPaths(projectsDir, slugs[s.i]);
    const { entry, volatile, indexed } = await readListEntry(paths);
    fresh[s.i] = entry;
    // runs.jsonl's key is taken after the read: an append during it is after scanStart, so racy.
    const key = indexed ? joinKeys([s.key, statKey(historyPath(paths.logsDir))]) : s.key;
    const keep = cacheable(key, scanStart, racyMs) && !volatile;
    rows[s.i] = [slugs[s.i], keep ? key.key : null, indexed ? 1 : 0, keep ? codec.payloadOf(entry) : null];
  });

  const dir = dirKey && cacheable(dirKey, scanStart, racyMs) ? dirKey.key : null;
  // Rewrite only when what would be cached differs: entries that are never cached (running, racy) are
  // read each time without rewriting the file each time.
  const changed = !old || old.dir !== dir || old.rows.length !== n ||
    rows.some((r, i) =>
      oldAt[i] < 0 || old.rows[oldAt[i]][1] !== r[1] || (r[1] !== null && cached[i] === null)
    );
  if (useCache && dirKey && changed) {
    await writeIndexFile(projectsDir, codec.file, codec.format({ dir, rows }));
    // A cold scan (no cache, or one of an earlier version) has every entry whole: it fills the other
    // form's cache too when that one is missing, so that the first `list --json` after the first `list`
    // (or the other way round) does not read every project again.
    const sibling: Codec<unknown> = (codec as Codec<unknown>) === LINES ? DETAILS : LINES;
    if (stale.length === n && n > 0 && statKey(join(projectsDir, INDEX_DIR, sibling.file)) === null) {
      const siblingRows = rows.map((
        r,
        i,
      ): Row<unknown> => [r[0], r[1], r[2], r[1] === null ? null : sibling.payloadOf(fresh[i]!)]);
      await writeIndexFile(projectsDir, sibling.file, sibling.format({ dir, rows: siblingRows }));
    }
    await dropOldVersions(projectsDir);
  }
  return { slugs, dirs, cached, fresh, read: stale.length };
}
