/**
 * The index behind `list`, `search` and `status`: one SQLite database, `<projects>/.dispatch-index/index.db`
 * (`node:sqlite`, imported only when opened). A row per project holds its `list` line and `list --json` entry
 * under the stat key of the files they were read from; a table holds the texts search looks through
 * (description, last-result.txt, each run's result) under their own key, with an FTS5 trigram index of their
 * lower-cased copies. The project files stay the one source of truth: a row whose key no longer matches is
 * read again, a damaged database or one of another schema version is rebuilt, and a folder where it cannot
 * be written gives the same answers from an index in memory. WAL mode, a busy timeout and a transaction per
 * update keep concurrent commands and a crash mid-update consistent.
 *
 * What changes what: adding, removing or renaming a file in a folder (so every atomic temp-and-rename write)
 * changes the folder's mtime; rewriting a file in place changes its own mtime and ctime (`touch -d` and
 * `cp -p` still change its ctime).
 */
import { mapLimit } from "../map_limit.ts";
import { join } from "../paths.ts";
import { readJsonObjectSafe, readTextSafe } from "./files.ts";
import { type ProjectTotals, totalsOf } from "./history.ts";
import { projectPaths, readProjectMeta } from "./project.ts";
import { listRunIds, runFiles } from "./runs.ts";
import { type LastCost, type ListEntry, type ListLine, readListEntry } from "./summary.ts";

type Db = InstanceType<typeof import("node:sqlite").DatabaseSync>;

/** Where the index lives: a hidden folder, skipped by listings, that is always safe to delete. */
export const INDEX_DIR = ".dispatch-index";

/** Files changed this close to a scan may change again within their timestamp's grain: read, not indexed. */
export const RACY_MS = 2000;

/** `cache: false`: a cold scan, in memory, that neither reads nor writes the database; `racyMs`: RACY_MS. */
export type IndexOptions = { cache?: boolean; racyMs?: number };

/** The identity of files' current content (inode, size, mtime and ctime of each), and when it changed. */
export type StatKey = { key: string; changed: number };

/** Stats `path` (synchronously: a fraction of the async call's cost); null when it does not exist. */
export function statKey(path: string): StatKey | null {
  try {
    const s = Deno.statSync(path);
    const [m, c] = [s.mtime?.getTime() ?? 0, s.ctime?.getTime() ?? 0];
    return { key: `${s.ino}:${s.size}:${m}:${c}`, changed: Math.max(m, c) };
  } catch {
    return null;
  }
}

/** The key of a logs folder and files in it; null when one is missing (last-result.txt may be: "-"). */
export function keyFiles(logs: string, names: string[]): StatKey | null {
  let key = "";
  let changed = 0;
  for (let i = -1; i < names.length; i++) { // in one loop: list stats every project's files
    const k = statKey(i < 0 ? logs : `${logs}/${names[i]}`) ??
      (names[i] === "last-result.txt" ? MISSING : null);
    if (!k) return null;
    key = i < 0 ? k.key : `${key} ${k.key}`;
    changed = Math.max(changed, k.changed);
  }
  return { key, changed };
}
const MISSING = { key: "-", changed: 0 };

const VERSION = 6;
const SCHEMA = `
CREATE TABLE IF NOT EXISTS folder(id INTEGER PRIMARY KEY CHECK (id = 0), key TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS projects(slug TEXT PRIMARY KEY, list_key TEXT, indexed INTEGER, line TEXT,
  entry TEXT, last_cost TEXT, search_key TEXT) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS projects_list ON projects(slug, list_key, indexed, line);
CREATE INDEX IF NOT EXISTS projects_search ON projects(slug, search_key);
CREATE TABLE IF NOT EXISTS texts(id INTEGER PRIMARY KEY, slug TEXT NOT NULL, ord INTEGER NOT NULL, run_id TEXT,
  problem TEXT, body TEXT);
CREATE INDEX IF NOT EXISTS texts_slug ON texts(slug);
CREATE INDEX IF NOT EXISTS texts_problems ON texts(slug) WHERE problem IS NOT NULL;
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(body, content='', contentless_delete=1, detail=none,
  tokenize='trigram case_sensitive 1');
PRAGMA user_version = ${VERSION};`;

/** SQLite's result codes for a file that is not a usable database (it is then rebuilt). */
const isDamage = (err: unknown) => [11, 26].includes((err as { errcode?: number })?.errcode ?? -1);

/** Opens an index file, or ":memory:" (created when new); throws with errcode 26 when of another version. */
async function openIndex(file: string): Promise<Db> {
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(file);
  try {
    db.exec("PRAGMA busy_timeout = 10000");
    const { user_version: v } = db.prepare("PRAGMA user_version").get() as { user_version: number };
    if (v !== VERSION && (v !== 0 || db.prepare("SELECT 1 FROM sqlite_schema").get())) {
      throw Object.assign(new Error("another version"), { errcode: 26 });
    }
    // Pages of 16 KB hold a project's whole row (a list --json entry is about 1 KB: no overflow pages).
    if (v !== 0) return db;
    db.exec(`PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; BEGIN IMMEDIATE; ${SCHEMA} COMMIT`);
    const dir = file.slice(0, -"/index.db".length); // and the caches of earlier versions go
    for (const e of file === ":memory:" ? [] : Deno.readDirSync(dir)) {
      if (/^(list|search|status)-v\d/.test(e.name)) Deno.removeSync(`${dir}/${e.name}`, { recursive: true });
    }
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Indexes in memory: a cold scan, whose search looks through every text (no trigram index to build). */
const inMemory = new WeakSet<Db>();

/**
 * Runs `fn` against the database, rebuilt once when damaged; in memory with `cache: false`, when the file
 * cannot be opened or written (a read-only folder, a full disk), or when `fn` returns false (it could not
 * store what it read).
 */
async function withIndex<T>(projectsDir: string, opts: IndexOptions, fn: (db: Db) => Promise<T | false>) {
  const dir = join(projectsDir, INDEX_DIR);
  for (let attempt = 0; attempt < 2 && opts.cache !== false; attempt++) {
    let db: Db | undefined;
    try {
      Deno.mkdirSync(dir, { recursive: true });
      db = await openIndex(`${dir}/index.db`);
      const out = await fn(db);
      if (out !== false) return out;
      break;
    } catch (err) {
      // An error of ours (not SQLite's, once open) is thrown; any other but damage: answered from memory.
      if (db && !isDamage(err) && (err as { code?: string })?.code !== "ERR_SQLITE_ERROR") throw err;
      if (!isDamage(err)) break;
      db?.close();
      for (const f of ["", "-wal", "-shm"]) await Deno.remove(`${dir}/index.db${f}`).catch(() => {});
    } finally {
      if (db?.isOpen) db.close();
    }
  }
  const db = await openIndex(":memory:");
  inMemory.add(db);
  try {
    return (await fn(db)) as T;
  } finally {
    db.close();
  }
}

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

/** What a refresh looks at: every project, or project `only`; `trusted`: see indexProject. */
type Scope = IndexOptions & { only?: string; trusted?: boolean };

/** A project's row as the index holds it: the key of one part, and for the list its line. */
type Row = { slug: string; key: string | null; indexed: number };

/**
 * A part of the index (list entries, search texts): the files of a logs folder its key covers (`indexed`:
 * runs.jsonl exists, whose appends change only its own key), how to read a project, how to store it under
 * its key (null: read it again next time).
 */
interface Part<V> {
  column: "list_key" | "search_key";
  files(indexed: boolean): string[];
  read(db: Db, dir: string, slug: string): Promise<{ value: V; volatile?: boolean; indexed?: boolean }>;
  store(db: Db, slug: string, value: V, key: string | null, indexed: boolean): void;
}

/**
 * Brings `part` of the index up to date with every project of the folder (or project `only`), reading
 * again only the projects whose files changed: the database then holds each of them as its files are.
 * Returns the slugs, sorted, and how many projects were read; false when what was read could not be
 * stored.
 */
async function refresh<V>(db: Db, dir: string, part: Part<V>, opts: Scope) {
  const { only = "", trusted = false } = opts;
  const scanStart = Date.now();
  const cacheable = (k: StatKey | null, trust = trusted): k is StatKey =>
    k !== null && (trust || k.changed < scanStart - (opts.racyMs ?? RACY_MS));
  const base = join(dir, "x").slice(0, -1); // with its "/": join() costs more than a stat
  const indexed = part.column === "list_key" ? "indexed" : "0 AS indexed";
  const sql = `SELECT slug, ${part.column} AS key, ${indexed} FROM projects ${only ? "WHERE slug = ?" : ""}`;
  const rows = q(db, `${sql} ORDER BY slug`).all(...(only ? [only] : [])) as Row[];
  const known = new Map(rows.map((r) => [r.slug, r]));
  const dirKey = statKey(dir);
  const folder = only ? undefined : q(db, "SELECT key FROM folder").get() as { key: string } | undefined;
  const sameSet = dirKey !== null && folder?.key === dirKey.key;
  let slugs = only ? [only] : sameSet ? rows.map((r) => r.slug) : dirKey ? readProjectSlugs(dir) : [];
  if (sameSet && slugs.some((s, i) => i > 0 && slugs[i - 1] >= s)) slugs.sort(); // see listLines
  const gone = new Set(only || sameSet ? [] : known.keys());
  for (const s of only || sameSet ? [] : slugs) gone.delete(s);
  const stale: string[] = [];
  for (const slug of slugs) {
    const row = known.get(slug);
    const key = keyFiles(`${base}${slug}/.dispatch-logs`, part.files(row?.indexed === 1));
    // Not a project folder: a row the folder's key vouches for whose folder is gone (an index written by
    // another program), or one project asked for by name that a listing skips (a symbolic link).
    if ((!key || only) && !isProjectDir(base + slug)) gone.add(slug);
    else if (!key || row?.key !== key.key) stale.push(slug);
  }
  if (gone.size) slugs = slugs.filter((s) => !gone.has(s));
  // Read and stored a batch at a time: a first search of 100,000 projects never holds all their texts.
  let written = stale.length === 0 && gone.size === 0 && (only !== "" || sameSet);
  for (let i = 0; !written && (i === 0 || i < stale.length); i += 256) {
    const batch = await mapLimit(stale.slice(i, i + 256), 16, async (slug) => {
      const r = await part.read(db, dir, slug);
      const k = keyFiles(`${base}${slug}/.dispatch-logs`, part.files(r.indexed ?? false)); // changed meanwhile
      return { slug, r, key: !r.volatile && cacheable(k) ? k.key : null };
    });
    const ok = write(db, () => {
      for (const slug of i === 0 ? gone : []) {
        q(db, "DELETE FROM fts WHERE rowid IN (SELECT id FROM texts WHERE slug = ?)").run(slug);
        q(db, "DELETE FROM texts WHERE slug = ?").run(slug);
        q(db, "DELETE FROM projects WHERE slug = ?").run(slug);
      }
      for (const f of batch) part.store(db, f.slug, f.r.value, f.key, f.r.indexed ?? false);
      if (only || i + 256 < stale.length) return;
      if (cacheable(dirKey, false)) q(db, "INSERT OR REPLACE INTO folder VALUES (0, ?)").run(dirKey.key);
      else db.exec("DELETE FROM folder");
    });
    if (!ok) return false;
    written = i + 256 >= stale.length;
  }
  return { slugs, read: stale.length };
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

/**
 * The stored entries' project_dir is a NUL and the slug, the projects folder put in when printed (the
 * folder may be reached by another path). A JSON string cannot hold a raw quote or line break: this text is
 * only ever the key.
 */
const DIR_MARK = '\n      "project_dir": "\\u0000';

/** What the text of `list` shows of a project, but for its folder. */
type Line = Omit<ListLine, "project_dir">;
const lineOf = (
  { slug, description, updated, status, problems, totals: t, repo, branch }: ListEntry,
): Line => {
  const totals = { runs: t.runs, cost_usd: t.cost_usd, runs_without_cost: t.runs_without_cost };
  return {
    slug,
    description,
    updated,
    status,
    totals,
    problems,
    ...(repo !== undefined ? { repo, branch } : {}),
  };
};

const UPSERT_LIST = "INSERT OR REPLACE INTO projects VALUES (?1, ?2, ?3, ?4, ?5, ?6, " +
  "(SELECT search_key FROM projects WHERE slug = ?1))"; // the search part's key kept

const LIST: Part<{ entry: ListEntry; lastCost: LastCost | null }> = {
  column: "list_key",
  files: (indexed) => indexed ? ["project.json", "runs.jsonl"] : ["project.json"],
  async read(_db, projectsDir, slug) {
    const { entry, lastCost, volatile, indexed } = await readListEntry(projectPaths(projectsDir, slug));
    return { value: { entry, lastCost }, volatile, indexed };
  },
  store(db, slug, { entry: e, lastCost }, key, indexed) {
    // As JSON.stringify(document, null, 2) prints it in list --json's projects array.
    const entry = "    " +
      JSON.stringify({ ...e, project_dir: `\0/${slug}` }, null, 2).replaceAll("\n", "\n    ");
    const [line, cost] = [JSON.stringify(lineOf(e)), JSON.stringify(lastCost)];
    q(db, UPSERT_LIST).run(slug, key, indexed ? 1 : 0, line, entry, cost);
  },
};

/** The entries and how many projects had to be read from their files. */
export type Listing<E> = { entries: E[]; read: number };

/** Every project with what the text of `list` shows, sorted by slug. */
export function listLines(projectsDir: string, opts: IndexOptions = {}): Promise<Listing<ListLine>> {
  return withIndex(projectsDir, opts, async (db) => {
    const r = await refresh(db, projectsDir, LIST, opts);
    if (!r) return false;
    const base = join(projectsDir, "x").slice(0, -1);
    // Refreshed, the rows are the projects: their lines in one text, parsed at once (a parse each costs more).
    const sql =
      "SELECT '[' || ifnull(group_concat(line), '') || ']' AS j FROM (SELECT line FROM projects ORDER BY slug)";
    const entries: ListLine[] = JSON.parse((q(db, sql).get() as { j: string }).j);
    for (const e of entries) e.project_dir = base + e.slug;
    // SQLite orders by UTF-8 bytes, JavaScript by UTF-16 units: they differ only for rare letters.
    if (entries.some((e, i) => i && entries[i - 1].slug >= e.slug)) {
      entries.sort((a, b) => a.slug < b.slug ? -1 : 1);
    }
    return { entries, read: r.read };
  });
}

/**
 * The entries of `list --json`'s projects array, as JSON.stringify(document, null, 2) prints them, put
 * together by SQLite from the entries as stored: neither parsed nor printed again.
 */
export function listEntriesText(projectsDir: string, opts: IndexOptions = {}) {
  return withIndex(projectsDir, opts, async (db) => {
    const r = await refresh(db, projectsDir, LIST, opts);
    const sql = "SELECT group_concat(entry, ',\n') AS text FROM (SELECT entry FROM projects ORDER BY slug)";
    const text = r && (q(db, sql).get() as { text: string | null }).text || "";
    const dir = DIR_MARK.slice(0, -6) + JSON.stringify(join(projectsDir, "x")).slice(1, -3);
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

/** A project's runs as `status` shows them, with the last run's own cost. */
export type RunsSummary = { totals: ProjectTotals; run_count: number; last_run_id: string | null } & {
  last_cost: LastCost | null;
};

/** One project's runs summary, from its indexed list entry while its files are unchanged. */
export function cachedRunsSummary(projectsDir: string, paths: { slug: string }, opts: IndexOptions = {}) {
  return withIndex<RunsSummary>(projectsDir, opts, async (db) => {
    if (!await refresh(db, projectsDir, LIST, { ...opts, only: paths.slug })) return false;
    const row = q(db, "SELECT entry, last_cost FROM projects WHERE slug = ?").get(paths.slug);
    const e: ListEntry | null = row?.entry ? JSON.parse(row.entry as string) : null; // none: the folder is gone
    const last_cost: LastCost | null = e && JSON.parse(row!.last_cost as string);
    const [totals, run_count, last_run_id] = [e?.totals ?? totalsOf([]), e?.runs ?? 0, e?.last_run?.run_id];
    return { totals, run_count, last_run_id: last_run_id ?? null, last_cost };
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

const SEARCH: Part<SearchSource> = {
  column: "search_key",
  files: () => ["project.json", "last-result.txt"], // absent while a project's first run goes on
  async read(db, projectsDir, slug) {
    // A result file is written once, when its run ends: the texts already indexed are not read again.
    const sql = "SELECT run_id, body FROM texts WHERE slug = ? AND ord >= 2 AND body IS NOT NULL";
    const rows = q(db, sql).all(slug) as { run_id: string; body: string }[];
    const known = new Map(rows.map((r) => [r.run_id, r.body]));
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
    put(0, null, meta_problem, description);
    put(1, null, null, last_result);
    runs.forEach(([id, body, problem], i) => put(i + 2, id, problem, body));
    q(db, "INSERT INTO projects (slug, search_key) VALUES (?,?) ON CONFLICT DO UPDATE SET search_key = ?")
      .run(slug, key, key);
  },
};

/**
 * The FTS5 query for the texts holding every trigram of `needle`: the index keeps no positions (detail=none,
 * a fraction of the size), so it may also hand back a text that holds them apart; matchProject checks.
 */
const trigrams = (needle: string) => {
  const c = [...needle];
  return [...new Set(c.slice(2).map((_, i) => `"${c.slice(i, i + 3).join("").replaceAll('"', '""')}"`))]
    .join(" AND ");
};

type Text = { slug: string; ord: number; run_id: string; problem: string | null; body: string | null };

/**
 * Calls `visit` with every project that may match `needle` (lower-cased) or has a problem to report, in no
 * set order, its source holding the texts that contain the needle and the runs with problems; returns how
 * many projects had to be read from their files. The trigram index finds the texts for needles of three
 * characters or more (it indexes the texts lower-cased as JavaScript does, so it finds all a scan finds);
 * shorter ones are looked for in every indexed text, as are all in an index in memory. The texts come a
 * project at a time and are let go once it is visited: a word found in half of all results does not hold
 * them all at once.
 */
export function scanSearchSources(
  projectsDir: string,
  visit: (slug: string, source: SearchSource) => void,
  opts: IndexOptions & { needle: string },
): Promise<{ read: number }> {
  const needle = opts.needle;
  return withIndex(projectsDir, opts, async (db) => {
    const r = await refresh(db, projectsDir, SEARCH, opts);
    if (!r) return false;
    const all = [...needle].length < 3 || inMemory.has(db);
    const cols = "t.slug, t.ord, t.run_id, t.problem, t.body";
    const texts = q(
      db,
      `SELECT ${cols} FROM ${all ? "texts t" : "fts JOIN texts t ON t.id = fts.rowid WHERE fts MATCH ?"}
       UNION ALL SELECT ${cols} FROM texts t INDEXED BY texts_problems WHERE problem IS NOT NULL ORDER BY 1, 2`,
    ).iterate(...(all ? [] : [trigrams(needle)])) as Iterable<Text>;
    const bySlug = new Set(r.slugs.filter((slug) => slug.toLowerCase().includes(needle)));
    let slug = "";
    let s: SearchSource | null = null;
    const done = () => s && (bySlug.delete(slug), visit(slug, s));
    for (const t of texts) {
      if (all && t.problem === null && !t.body?.toLowerCase().includes(needle)) continue;
      if (t.slug !== slug || !s) {
        done();
        [slug, s] = [t.slug, { description: "", meta_problem: null, last_result: null, runs: [] }];
      }
      if (t.ord === 0) [s.description, s.meta_problem] = [t.body ?? "", t.problem];
      else if (t.ord === 1) s.last_result = t.body;
      else if (s.runs.at(-1)?.[0] !== t.run_id) s.runs.push([t.run_id, t.body, t.problem]);
    }
    done();
    for (const slug of bySlug) {
      visit(slug, { description: "", meta_problem: null, last_result: null, runs: [] });
    }
    return { read: r.read };
  });
}

/**
 * Brings one project's rows up to date after dispatch-cc wrote it (a run's end, a new project), so that the
 * next command does not read it again: stored under its keys however recent, as nothing else writes a
 * project while its run ends. Never throws: the index is only a shortcut.
 */
export async function indexProject(projectsDir: string, slug: string): Promise<void> {
  await withIndex(
    projectsDir,
    {},
    async (db) =>
      !inMemory.has(db) && await refresh(db, projectsDir, LIST, { only: slug, trusted: true }) &&
      await refresh(db, projectsDir, SEARCH, { only: slug, trusted: true }),
  ).catch(() => {});
}
