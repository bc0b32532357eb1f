/**
 * The index behind `list`, `search` and `status`: one SQLite database (`node:sqlite`, imported only when
 * opened), `<projects>/.dispatch-index/index.db`. A row per project holds its `list` line and `list --json`
 * entry under the stat key of the files they were read from; a table holds the texts search looks through
 * (description, last-result.txt, each run's result), with an FTS5 trigram index of their lower-cased copies,
 * under their own key. The project files stay the one source of truth: a row whose key no longer matches is
 * read again, a database that is damaged or of another schema version is rebuilt, and a folder where it
 * cannot be written gives the same answers from an index in memory. WAL mode, a busy timeout and a
 * transaction per update keep concurrent commands and a crash mid-update consistent.
 *
 * What changes what (Linux and macOS): adding, removing or renaming a file in a folder (so every atomic
 * temp-and-rename write) changes the folder's mtime; rewriting a file in place changes its own mtime, ctime
 * and usually its size, and `touch -d` or `cp -p` still change its ctime.
 */
import { mapLimit } from "../map_limit.ts";
import { join } from "../paths.ts";
import { readJsonObjectSafe, readTextSafe } from "./files.ts";
import { type ProjectTotals, totalsOf } from "./history.ts";
import { projectPaths, readProjectMeta } from "./project.ts";
import { listRunIds, runFiles } from "./runs.ts";
import { type ListEntry, type ListLine, readListEntry } from "./summary.ts";

type Db = InstanceType<typeof import("node:sqlite").DatabaseSync>;

/** Where the index lives: a hidden folder, skipped by listings, that is always safe to delete. */
export const INDEX_DIR = ".dispatch-index";

/**
 * A change within this long of a scan may share its timestamp with a later change (coarse clocks, 1 s or
 * 2 s timestamps on some file systems): what was read from such files is used but not indexed.
 */
export const RACY_MS = 2000;

export interface IndexOptions {
  /** false: a cold scan, in memory, that neither reads nor writes the database. */
  cache?: boolean;
  /** See RACY_MS (tests shorten it). */
  racyMs?: number;
}

/** The identity of a file's current content (a hash of inode, size, mtime, ctime), and when it changed. */
export interface StatKey {
  key: number;
  changed: number;
}

/**
 * Folds whole numbers (each below 2^53) into a 53-bit hash: two 32-bit lanes of MurmurHash3's mixing (a
 * change goes unnoticed only if the new values collide with the old: about one chance in 2^53).
 */
export function hashNumbers(values: number[]): number {
  let a = 0x9747b28c;
  let b = 0x2f6b8a3d;
  const mix = (word: number) => {
    let k = Math.imul(word, 0xcc9e2d51);
    k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
    a ^= k;
    a = (Math.imul((a << 13) | (a >>> 19), 5) + 0xe6546b64) | 0;
    b ^= Math.imul(word ^ (word >>> 16), 0x85ebca6b);
    b = Math.imul(b ^ (b >>> 13), 0xc2b2ae35);
  };
  for (const v of values) {
    mix(v >>> 0);
    mix(Math.floor(v / 2 ** 32) >>> 0);
  }
  a = Math.imul(a ^ (a >>> 16), 0x85ebca6b);
  a = Math.imul(a ^ (a >>> 13), 0xc2b2ae35);
  a ^= a >>> 16;
  b ^= b >>> 16;
  return (a >>> 0) * 2 ** 21 + ((b >>> 0) >>> 11);
}

/** Stats `path` (synchronously: a fraction of the async call's cost); null when it does not exist. */
export function statKey(path: string): StatKey | null {
  try {
    const s = Deno.statSync(path);
    const [m, c] = [s.mtime?.getTime() ?? 0, s.ctime?.getTime() ?? 0];
    return { key: hashNumbers([s.ino ?? 0, s.size, m, c]), changed: Math.max(m, c) };
  } catch {
    return null;
  }
}

/** Joins several keys into one; null when any part is missing (the value is then never indexed). */
export function joinKeys(keys: (StatKey | null)[]): StatKey | null {
  let changed = 0;
  for (const k of keys) {
    if (k === null) return null;
    changed = Math.max(changed, k.changed);
  }
  return { key: hashNumbers(keys.map((k) => k!.key)), changed };
}

const cacheable = (k: StatKey | null, scanStart: number, racyMs: number): k is StatKey =>
  k !== null && k.changed < scanStart - racyMs;

const VERSION = 1;
const SCHEMA = `
CREATE TABLE IF NOT EXISTS folder(id INTEGER PRIMARY KEY CHECK (id = 0), key INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS projects(slug TEXT PRIMARY KEY, list_key INTEGER, indexed INTEGER, line TEXT,
  entry TEXT, search_key INTEGER, meta_problem TEXT) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS projects_list ON projects(slug, list_key, indexed, line);
CREATE INDEX IF NOT EXISTS projects_search ON projects(slug, search_key);
CREATE TABLE IF NOT EXISTS texts(id INTEGER PRIMARY KEY, slug TEXT NOT NULL, ord INTEGER NOT NULL, run_id TEXT,
  problem TEXT, body TEXT);
CREATE INDEX IF NOT EXISTS texts_slug ON texts(slug);
CREATE INDEX IF NOT EXISTS texts_problems ON texts(slug) WHERE problem IS NOT NULL;
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(body, content='', contentless_delete=1, tokenize='trigram');
PRAGMA user_version = ${VERSION};`;

/** SQLite's result codes for a file that is not a usable database (it is then rebuilt). */
const isDamage = (err: unknown) => [11, 26].includes((err as { errcode?: number })?.errcode ?? -1);

const dropDb = (file: string) => {
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      Deno.removeSync(f);
    } catch { /* gone already */ }
  }
};

/** Opens the database, creating it (or rebuilding it when damaged or of another version); null if it cannot. */
async function openIndex(projectsDir: string): Promise<Db | null> {
  const { DatabaseSync } = await import("node:sqlite");
  const dir = join(projectsDir, INDEX_DIR);
  for (let attempt = 0; attempt < 2; attempt++) {
    let db: Db | undefined;
    try {
      Deno.mkdirSync(dir, { recursive: true });
      db = new DatabaseSync(`${dir}/index.db`);
      db.exec("PRAGMA busy_timeout = 10000");
      const { user_version } = db.prepare("PRAGMA user_version").get() as { user_version: number };
      if (user_version === VERSION) return db;
      const { n } = db.prepare("SELECT count(*) AS n FROM sqlite_schema").get() as { n: number };
      if (user_version !== 0 || n !== 0) throw Object.assign(new Error("another version"), { errcode: 26 });
      // Pages of 16 KB hold a project's whole row (a list --json entry is about 1 KB: no overflow pages).
      db.exec(`PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; BEGIN IMMEDIATE; ${SCHEMA} COMMIT;`);
      for (const e of Deno.readDirSync(dir)) { // the JSON and text caches of earlier versions
        if (/^(list|search|status)-v\d/.test(e.name)) {
          Deno.removeSync(`${dir}/${e.name}`, { recursive: true });
        }
      }
      return db;
    } catch (err) {
      db?.close();
      if (!isDamage(err)) return null; // an unwritable folder: the index lives in memory
      dropDb(`${dir}/index.db`);
    }
  }
  return null;
}

/** Indexes in memory: a cold scan, whose search looks through every text (no trigram index to build). */
const inMemory = new WeakSet<Db>();

/**
 * Runs `fn` against the database: in memory with `cache: false`, when the file cannot be opened or used,
 * or when `fn` returns false (it could not store what it read).
 */
async function withIndex<T>(projectsDir: string, opts: IndexOptions, fn: (db: Db) => Promise<T | false>) {
  for (let attempt = 0; attempt < 2 && opts.cache !== false; attempt++) {
    const db = await openIndex(projectsDir);
    if (!db) break;
    try {
      const out = await fn(db);
      if (out !== false) return out;
      break;
    } catch (err) {
      if (!isDamage(err) && (err as { code?: string })?.code !== "ERR_SQLITE_ERROR") throw err;
      if (!isDamage(err)) break; // a read-only file, a full disk: answered from memory
      db.close();
      dropDb(join(projectsDir, INDEX_DIR, "index.db")); // damaged after opening: rebuilt once
    } finally {
      if (db.isOpen) db.close();
    }
  }
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(":memory:");
  db.exec(SCHEMA);
  inMemory.add(db);
  try {
    return (await fn(db)) as T;
  } finally {
    db.close();
  }
}

/** A project's folder, as join() writes it (by concatenation: join() costs more than a stat). */
const dirOf = (projectsDir: string, slug: string) => `${join(projectsDir, "x").slice(0, -2)}/${slug}`;

/** A statement of `db`, prepared once per connection. */
const statements = new WeakMap<Db, Map<string, ReturnType<Db["prepare"]>>>();
function q(db: Db, sql: string) {
  if (!statements.has(db)) statements.set(db, new Map());
  const m = statements.get(db)!;
  if (!m.has(sql)) m.set(sql, db.prepare(sql));
  return m.get(sql)!;
}

/** Runs `fn` in one write transaction; false when the database refused (read-only, full, busy too long). */
function write(db: Db, fn: () => void): boolean {
  try {
    db.exec("BEGIN IMMEDIATE");
    fn();
    db.exec("COMMIT");
    return true;
  } catch (err) {
    if (db.isTransaction) db.exec("ROLLBACK");
    if (isDamage(err)) throw err;
    return false;
  }
}

/**
 * Rows as arrays, in slug order (the order of a scan of the primary key or of an index that starts with
 * it), put together as one JSON text by SQLite and parsed at once: node:sqlite builds an object per row at
 * several times the cost. A column `json(x)` holds JSON text already, and is passed on as it is.
 */
function rowsOf<T extends unknown[]>(db: Db, columns: string, from: string, ...params: string[]): T[] {
  const inner = columns.replace(/json\((\w+)\)/g, "$1");
  const parts = columns.split(", ").map((c) =>
    c.startsWith("json(") ? `ifnull(${c.slice(5, -1)}, 'null')` : `json_quote(${c})`
  );
  const row = `'[' || ${parts.join(" || ',' || ")} || ']'`;
  const sql =
    `SELECT '[' || ifnull(group_concat(${row}, ','), '') || ']' AS j FROM (SELECT ${inner} FROM ${from} ORDER BY slug)`;
  return JSON.parse((q(db, sql).get(...params) as { j: string }).j);
}

/** What a part of the index (list entries, search texts) needs to refresh itself. */
interface Part<V> {
  column: "list_key" | "search_key";
  /** The key of a project's files; `indexed`: runs.jsonl exists (its appends change only its own key). */
  key(logs: string, indexed: boolean): StatKey | null;
  read(
    db: Db,
    projectsDir: string,
    slug: string,
  ): Promise<{ value: V; volatile?: boolean; indexed?: boolean }>;
  /** Stores a project read from its files under `key` (null: read it again next time). */
  store(db: Db, slug: string, value: V, key: number | null, indexed: boolean): void;
}

/**
 * Brings `part` of the index up to date with every project of the folder (or project `only`), reading
 * again only the projects whose files changed: the database then holds each of them as its files are.
 * Returns the slugs, sorted, and how many projects were read; false when what was read could not be
 * stored. `trusted`: dispatch-cc's own write, stored under its keys however recent (see indexProject).
 */
async function refresh<V>(
  db: Db,
  projectsDir: string,
  opts: IndexOptions,
  part: Part<V>,
  only = "",
  trusted = false,
  lines = false,
) {
  const scanStart = Date.now();
  const racyMs = opts.racyMs ?? RACY_MS;
  const dirKey = statKey(projectsDir);
  const base = dirOf(projectsDir, "").slice(0, -1);
  const list = part.column === "list_key";
  const from = `projects INDEXED BY ${list ? "projects_list" : "projects_search"}${
    only ? " WHERE slug = ?" : ""
  }`;
  // With `lines`, the list's lines come with the keys, from the same index: `list` makes one query.
  type Known = [slug: string, key: number | null, indexed: number, line?: Line];
  const rows = rowsOf<Known>(
    db,
    `slug, ${part.column}, ${list ? "indexed" : 0}${lines ? ", json(line)" : ""}`,
    from,
    ...(only ? [only] : []),
  );
  const known = new Map(rows.map((r) => [r[0], r]));
  const folder = only ? undefined : q(db, "SELECT key FROM folder").get() as { key: number } | undefined;
  const sameSet = dirKey !== null && folder?.key === dirKey.key;
  let slugs = only ? [only] : sameSet ? rows.map((r) => r[0]) : dirKey ? readProjectSlugs(projectsDir) : [];
  if (sameSet && slugs.some((s, i) => i > 0 && slugs[i - 1] >= s)) slugs.sort();
  const gone = new Set<string>();
  if (!only && !sameSet) {
    const present = new Set(slugs);
    for (const s of known.keys()) if (!present.has(s)) gone.add(s);
  }
  const stale: string[] = [];
  for (const slug of slugs) {
    const row = known.get(slug);
    const key = part.key(`${base}/${slug}/.dispatch-logs`, row?.[2] === 1);
    // Not a project folder: a row the folder's key vouches for whose folder is gone (an index written by
    // another program), or one project asked for by name that a listing skips (a symbolic link).
    if ((!key || only) && !isProjectDir(`${base}/${slug}`)) gone.add(slug);
    else if (!key || row?.[1] !== key.key) stale.push(slug);
  }
  if (gone.size) slugs = slugs.filter((s) => !gone.has(s));
  const fresh = await mapLimit(stale, 16, async (slug) => {
    const r = await part.read(db, projectsDir, slug);
    const k = part.key(`${base}/${slug}/.dispatch-logs`, r.indexed ?? false); // a change during the read: racy
    return { slug, r, key: k && !r.volatile && (trusted || cacheable(k, scanStart, racyMs)) ? k.key : null };
  });
  const written = (fresh.length === 0 && gone.size === 0 && (only !== "" || sameSet)) || write(db, () => {
    for (const slug of gone) {
      q(db, "DELETE FROM fts WHERE rowid IN (SELECT id FROM texts WHERE slug = ?)").run(slug);
      q(db, "DELETE FROM texts WHERE slug = ?").run(slug);
      q(db, "DELETE FROM projects WHERE slug = ?").run(slug);
    }
    for (const f of fresh) part.store(db, f.slug, f.r.value, f.key, f.r.indexed ?? false);
    if (only) return;
    if (cacheable(dirKey, scanStart, racyMs)) {
      q(db, "INSERT OR REPLACE INTO folder VALUES (0, ?)").run(dirKey.key);
    } else db.exec("DELETE FROM folder");
  });
  return written &&
    { slugs, read: stale.length, known, fresh: new Map(fresh.map((f) => [f.slug, f.r.value])) };
}

/** Is `path` a folder itself (not a symbolic link to one: listings skip those)? */
export function isProjectDir(path: string): boolean {
  try {
    return Deno.lstatSync(path).isDirectory;
  } catch {
    return false;
  }
}

/** The project folders (sorted, hidden entries and symbolic links skipped); [] when the folder is missing. */
export function readProjectSlugs(projectsDir: string): string[] {
  try {
    return [...Deno.readDirSync(projectsDir)].filter((e) => e.isDirectory && !e.name.startsWith("."))
      .map((e) => e.name).sort();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
}

// ---- list and status

const keyFiles = (logs: string, ...names: string[]) =>
  joinKeys([statKey(logs), ...names.map((n) => statKey(`${logs}/${n}`))]);

/**
 * The stored entries' project_dir is a NUL and the slug, the projects folder put in when printed (the
 * folder may be reached by another path). A JSON string cannot hold a raw quote or line break: this text is
 * only ever the key.
 */
const DIR_MARK = '\n      "project_dir": "\\u0000';

const LIST: Part<ListEntry> = {
  column: "list_key",
  key: (logs, indexed) => keyFiles(logs, "project.json", ...(indexed ? ["runs.jsonl"] : [])),
  async read(_db, projectsDir, slug) {
    const { entry, volatile, indexed } = await readListEntry(projectPaths(projectsDir, slug));
    return { value: entry, volatile, indexed };
  },
  store(db, slug, e, key, indexed) {
    const line = lineOf(e);
    // As JSON.stringify(document, null, 2) prints it in list --json's projects array.
    const entry = "    " +
      JSON.stringify({ ...e, project_dir: `\0/${slug}` }, null, 2).replaceAll("\n", "\n    ");
    q(
      db,
      `INSERT INTO projects (slug, list_key, indexed, line, entry) VALUES (?,?,?,?,?) ON CONFLICT (slug) DO UPDATE
       SET list_key = excluded.list_key, indexed = excluded.indexed, line = excluded.line, entry = excluded.entry`,
    ).run(slug, key, indexed ? 1 : 0, JSON.stringify(line), entry);
  },
};

/** The entries and how many projects had to be read from their files. */
export interface Listing<E> {
  entries: E[];
  read: number;
}

/** A project's line in the text of `list`: description, updated, status, problems and its totals. */
type Line =
  | [string | null, string | null, string, string[], number, number, number]
  // A project in a repository (`run --repo`): then its repository and branch.
  | [string | null, string | null, string, string[], number, number, number, string, string];
const lineOf = (e: ListEntry): Line => {
  const t = e.totals;
  const line: Line = [
    e.description,
    e.updated,
    e.status,
    e.problems,
    t.runs,
    t.cost_usd,
    t.runs_without_cost,
  ];
  return e.repo !== undefined && e.branch !== undefined ? [...line, e.repo, e.branch] as Line : line;
};

/** Every project with what the text of `list` shows, sorted by slug. */
export function listLines(projectsDir: string, opts: IndexOptions = {}): Promise<Listing<ListLine>> {
  return withIndex(projectsDir, opts, async (db) => {
    const r = await refresh(db, projectsDir, opts, LIST, "", false, true);
    const base = dirOf(projectsDir, "");
    return r && {
      entries: r.slugs.map((slug) => {
        const e = r.fresh.get(slug);
        const l = e ? lineOf(e) : r.known.get(slug)![3]!;
        return {
          slug,
          project_dir: base + slug,
          description: l[0],
          updated: l[1],
          status: l[2],
          totals: { runs: l[4], cost_usd: l[5], runs_without_cost: l[6] },
          problems: l[3],
          ...(l.length === 9 ? { repo: l[7], branch: l[8] } : {}),
        };
      }),
      read: r.read,
    };
  });
}

/**
 * The entries of `list --json`'s projects array, as JSON.stringify(document, null, 2) prints them, put
 * together by SQLite from the entries as stored: neither parsed nor printed again.
 */
export function listEntriesText(projectsDir: string, opts: IndexOptions = {}) {
  return withIndex(projectsDir, opts, async (db) => {
    const r = await refresh(db, projectsDir, opts, LIST);
    const sql = "SELECT group_concat(entry, ',\n') AS text FROM (SELECT entry FROM projects ORDER BY slug)";
    const text = r && (q(db, sql).get() as { text: string | null }).text || "";
    const dir = DIR_MARK.slice(0, -6) + JSON.stringify(dirOf(projectsDir, "x")).slice(1, -3);
    return r && { text: text.replaceAll(DIR_MARK, () => dir), read: r.read };
  });
}

/** Every project's whole `list --json` entry, sorted by slug. */
export async function listProjects(
  projectsDir: string,
  opts: IndexOptions = {},
): Promise<Listing<ListEntry>> {
  const { text, read } = await listEntriesText(projectsDir, opts);
  return { entries: JSON.parse(`[${text}]`), read };
}

/** A project's runs as `status` shows them. */
export interface RunsSummary {
  totals: ProjectTotals;
  run_count: number;
  last_run_id: string | null;
}

/** One project's runs summary, from its indexed list entry while its files are unchanged. */
export function cachedRunsSummary(projectsDir: string, paths: { slug: string }, opts: IndexOptions = {}) {
  return withIndex<RunsSummary>(projectsDir, opts, async (db) => {
    if (!await refresh(db, projectsDir, opts, LIST, paths.slug)) return false;
    const row = q(db, "SELECT entry FROM projects WHERE slug = ?").get(paths.slug) as
      | { entry: string }
      | undefined;
    const e: ListEntry | null = row ? JSON.parse(row.entry) : null; // none: the folder is gone
    return {
      totals: e?.totals ?? totalsOf([]),
      run_count: e?.runs ?? 0,
      last_run_id: e?.last_run?.run_id ?? null,
    };
  });
}

// ---- search

/** One run's result: its id, its result text (null when the object has none) and a problem reading it. */
export type SearchRun = [id: string, text: string | null, problem: string | null];

/** What search looks through in one project (from the index: only the texts that may match). */
export interface SearchSource {
  description: string;
  /** A problem reading project.json. */
  meta_problem: string | null;
  last_result: string | null;
  /** Runs with a result file, newest first. */
  runs: SearchRun[];
}

/** last-result.txt may be absent (a project whose first run is still going): a fixed key then. */
const MISSING = { key: 0, changed: 0 };

const SEARCH: Part<SearchSource> = {
  column: "search_key",
  key: (logs) =>
    joinKeys([statKey(logs), statKey(`${logs}/project.json`), statKey(`${logs}/last-result.txt`) ?? MISSING]),
  async read(db, projectsDir, slug) {
    // A result file is written once, when its run ends: the texts already indexed are not read again.
    const sql = "SELECT run_id, body FROM texts WHERE slug = ? AND ord >= 2 AND body IS NOT NULL";
    const known = new Map(
      (q(db, sql).all(slug) as { run_id: string; body: string }[]).map((r) => [r.run_id, r.body]),
    );
    const paths = projectPaths(projectsDir, slug);
    const [meta, last, ids] = await Promise.all([
      readProjectMeta(paths),
      readTextSafe(paths.lastResult),
      listRunIds(paths.logsDir),
    ]);
    const runs = await mapLimit(ids.reverse(), 8, async (id): Promise<SearchRun | null> => {
      if (known.has(id)) return [id, known.get(id)!, null];
      const r = await readJsonObjectSafe(runFiles(paths.logsDir, id).result);
      if (!r.ok) return r.problem === "missing" ? null : [id, null, r.problem];
      return [id, typeof r.value.result === "string" ? r.value.result : null, null];
    });
    return {
      value: {
        description: meta.meta?.description ?? "",
        meta_problem: meta.problem,
        last_result: last.ok ? last.text : null,
        runs: runs.filter((r): r is SearchRun => r !== null),
      },
    };
  },
  store(db, slug, { description, last_result, runs, meta_problem }, key) {
    q(db, "DELETE FROM fts WHERE rowid IN (SELECT id FROM texts WHERE slug = ?)").run(slug);
    q(db, "DELETE FROM texts WHERE slug = ?").run(slug);
    const put = (ord: number, id: string | null, problem: string | null, body: string | null) => {
      const t = q(db, "INSERT INTO texts (slug, ord, run_id, problem, body) VALUES (?,?,?,?,?)");
      const { lastInsertRowid } = t.run(slug, ord, id, problem, body);
      if (body !== null && !inMemory.has(db)) {
        q(db, "INSERT INTO fts (rowid, body) VALUES (?, ?)").run(lastInsertRowid, body.toLowerCase());
      }
    };
    put(0, null, null, description);
    put(1, null, null, last_result);
    runs.forEach(([id, body, problem], i) => put(i + 2, id, problem, body));
    q(
      db,
      `INSERT INTO projects (slug, search_key, meta_problem) VALUES (?,?,?) ON CONFLICT (slug) DO UPDATE SET
       search_key = excluded.search_key, meta_problem = excluded.meta_problem`,
    ).run(slug, key, meta_problem);
  },
};

type Text = { slug: string; ord: number; run_id: string; problem: string | null; body: string | null };

/**
 * Calls `visit` with every project that may match `needle` (lower-cased) or has a problem to report, in slug
 * order, its source holding the texts that contain the needle and the runs with problems; returns how many
 * projects had to be read from their files. The trigram index finds the texts for needles of three
 * characters or more (it indexes the texts lower-cased as JavaScript does, so it finds all a scan finds);
 * shorter ones are looked for in every indexed text, as are all in an index in memory.
 */
export function scanSearchSources(
  projectsDir: string,
  visit: (slug: string, source: SearchSource) => void,
  opts: IndexOptions & { needle: string },
): Promise<{ read: number }> {
  const needle = opts.needle;
  return withIndex(projectsDir, opts, async (db) => {
    const r = await refresh(db, projectsDir, opts, SEARCH);
    if (!r) return false;
    const cols = "t.slug, t.ord, t.run_id, t.problem, t.body";
    const texts = [...needle].length >= 3 && !inMemory.has(db)
      ? q(db, `SELECT ${cols} FROM fts JOIN texts t ON t.id = fts.rowid WHERE fts MATCH ?`)
        .all(`"${needle.replaceAll('"', '""')}"`) as Text[]
      : (q(db, `SELECT ${cols} FROM texts t WHERE body IS NOT NULL`).all() as Text[])
        .filter((t) => t.body!.toLowerCase().includes(needle));
    texts.push(
      ...q(db, `SELECT ${cols} FROM texts t INDEXED BY texts_problems WHERE problem IS NOT NULL`)
        .all() as Text[],
    );
    const sources = new Map<string, SearchSource>();
    const sourceOf = (slug: string) => {
      if (!sources.has(slug)) {
        sources.set(slug, { description: "", meta_problem: null, last_result: null, runs: [] });
      }
      return sources.get(slug)!;
    };
    for (const p of q(db, "SELECT slug, meta_problem FROM projects WHERE meta_problem IS NOT NULL").all()) {
      sourceOf(p.slug as string).meta_problem = p.meta_problem as string;
    }
    for (const slug of r.slugs) if (slug.toLowerCase().includes(needle)) sourceOf(slug);
    for (const t of texts.sort((a, b) => a.ord - b.ord)) {
      const s = sourceOf(t.slug);
      if (t.ord === 0) s.description = t.body ?? "";
      else if (t.ord === 1) s.last_result = t.body;
      else if (s.runs.at(-1)?.[0] !== t.run_id) s.runs.push([t.run_id, t.body, t.problem]);
    }
    for (const slug of r.slugs) if (sources.has(slug)) visit(slug, sources.get(slug)!);
    return { read: r.read };
  });
}

/**
 * Brings one project's rows up to date after dispatch-cc wrote it (a run's end, a new project), so that the
 * next command does not read it again: stored under its keys however recent, as nothing else writes a
 * project while its run ends. Never throws: the index is only a shortcut.
 */
export async function indexProject(projectsDir: string, slug: string): Promise<void> {
  const db = await openIndex(projectsDir).catch(() => null);
  try {
    if (db) {
      await refresh(db, projectsDir, {}, LIST, slug, true) &&
        await refresh(db, projectsDir, {}, SEARCH, slug, true);
    }
  } catch {
    /* the next listing reads the project */
  } finally {
    db?.close();
  }
}
