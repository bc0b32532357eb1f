/**
 * The index behind `list`, `search` and `status`: one SQLite database (`node:sqlite`),
 * `<projects>/.dispatch-index/index.db`. A row per project holds its list entry and the stat key of the files
 * it was read from; a table holds the texts search looks through (description, last-result.txt, each run's
 * result), with an FTS5 trigram index of their lower-cased copies, and their own stat key. The project files
 * stay the one source of truth: a row whose key no longer matches its files is read again, and a database
 * that is missing, corrupt or of another schema version is rebuilt. WAL mode, a busy timeout and a
 * transaction per update keep concurrent commands and a crash mid-update consistent; a folder where the
 * database cannot be written gives the same answers from an index in memory.
 */
import { join } from "../paths.ts";
import { readJsonObjectSafe, readTextSafe } from "./files.ts";
import {
  cacheable,
  INDEX_DIR,
  joinKeys,
  mapLimit,
  RACY_MS,
  readProjectSlugs,
  type StatKey,
  statKey,
} from "./freshness.ts";
import { type ProjectTotals, totalsOf } from "./history.ts";
import { type ProjectPaths, projectPaths, readProjectMeta } from "./project.ts";
import { listRunIds, runFiles } from "./runs.ts";
import { type ListEntry, type ListLine, readListEntry } from "./summary.ts";

type Db = InstanceType<typeof import("node:sqlite").DatabaseSync>;

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

export interface IndexOptions {
  /** false: a cold scan, in memory, that neither reads nor writes the database. */
  cache?: boolean;
  /** A change this recent may share its timestamp with a later one: not trusted (see RACY_MS). */
  racyMs?: number;
}

const VERSION = 1;
const SCHEMA = `
CREATE TABLE IF NOT EXISTS folder(id INTEGER PRIMARY KEY CHECK (id = 0), key INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS projects(
  slug TEXT PRIMARY KEY, list_key INTEGER, indexed INTEGER, line TEXT, entry TEXT, search_key INTEGER,
  meta_problem TEXT) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS projects_list ON projects(slug, list_key, indexed);
CREATE INDEX IF NOT EXISTS projects_search ON projects(slug, search_key);
CREATE TABLE IF NOT EXISTS texts(
  id INTEGER PRIMARY KEY, slug TEXT NOT NULL, ord INTEGER NOT NULL, run_id TEXT, problem TEXT, body TEXT);
CREATE INDEX IF NOT EXISTS texts_slug ON texts(slug);
CREATE INDEX IF NOT EXISTS texts_problems ON texts(slug) WHERE problem IS NOT NULL;
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(body, content='', contentless_delete=1, tokenize='trigram');
PRAGMA user_version = ${VERSION};`;

/** The caches of earlier versions (JSON and text files), removed when the database is created. */
const OLD_CACHES = /^(list-v\d.*|search-v\d.*|status-v\d+)$/;

/** SQLite's result codes that mean the file is not a usable database (then it is rebuilt). */
const DAMAGED = new Set([11, 26]); // SQLITE_CORRUPT, SQLITE_NOTADB

const dbFile = (projectsDir: string) => join(projectsDir, INDEX_DIR, "index.db");
const dropDb = (file: string) => {
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      Deno.removeSync(f);
    } catch { /* already gone */ }
  }
};
const isDamage = (err: unknown) => DAMAGED.has((err as { errcode?: number })?.errcode ?? -1);

/** Opens the database, creating it (or rebuilding it when damaged or of another version); null if it cannot. */
async function openIndex(projectsDir: string): Promise<Db | null> {
  const { DatabaseSync } = await import("node:sqlite");
  const file = dbFile(projectsDir);
  for (let attempt = 0; attempt < 2; attempt++) {
    let db: Db | undefined;
    try {
      Deno.mkdirSync(join(projectsDir, INDEX_DIR), { recursive: true });
      db = new DatabaseSync(file);
      db.exec("PRAGMA busy_timeout = 10000");
      const version = (q(db, "PRAGMA user_version").get() as { user_version: number }).user_version;
      if (version === VERSION) return db;
      const tables = q(db, "SELECT count(*) AS n FROM sqlite_schema").get() as { n: number };
      if (version !== 0 || tables.n !== 0) throw Object.assign(new Error("another version"), { errcode: 26 });
      // Pages of 16 KB hold a project's whole row (a list --json entry is about 1 KB: no overflow pages).
      db.exec("PRAGMA page_size = 16384; PRAGMA journal_mode = WAL");
      db.exec(`BEGIN IMMEDIATE; ${SCHEMA} COMMIT;`);
      for (const e of Deno.readDirSync(join(projectsDir, INDEX_DIR))) {
        if (OLD_CACHES.test(e.name)) {
          Deno.removeSync(join(projectsDir, INDEX_DIR, e.name), { recursive: true });
        }
      }
      return db;
    } catch (err) {
      db?.close();
      if (!isDamage(err)) return null; // an unwritable folder: the index lives in memory
      dropDb(file);
    }
  }
  return null;
}

/** Indexes in memory: a cold scan, whose search looks through every text (no trigram index to build). */
const inMemory = new WeakSet<Db>();

async function memoryIndex(): Promise<Db> {
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(":memory:");
  db.exec(SCHEMA);
  inMemory.add(db);
  return db;
}

/**
 * Runs `fn` against the database (in memory with `cache: false`, or when it cannot be opened or written).
 * `fn` returns false when it could not write what it read: its answer is then taken from memory.
 */
async function withIndex<T>(
  projectsDir: string,
  opts: IndexOptions,
  fn: (db: Db, onDisk: boolean) => Promise<T | false>,
): Promise<T> {
  for (let attempt = 0; attempt < 2 && opts.cache !== false; attempt++) {
    const db = await openIndex(projectsDir);
    if (!db) break;
    try {
      const out = await fn(db, true);
      if (out !== false) return out;
      break;
    } catch (err) {
      if (!isDamage(err)) {
        // Another SQLite failure (a read-only file, a full disk): the answer comes from memory.
        if ((err as { code?: string })?.code === "ERR_SQLITE_ERROR") break;
        throw err;
      }
      db.close();
      dropDb(dbFile(projectsDir)); // damaged after opening: rebuilt once
    } finally {
      if (db.isOpen) db.close();
    }
  }
  const db = await memoryIndex();
  try {
    return (await fn(db, false)) as T;
  } finally {
    db.close();
  }
}

/** A project's folder, as join() writes it (by concatenation: join() costs more than a stat). */
const dirOf = (projectsDir: string, slug: string) => `${join(projectsDir, "x").slice(0, -2)}/${slug}`;

/** A prepared statement of `db`, prepared once per connection. */
const statements = new WeakMap<Db, Map<string, ReturnType<Db["prepare"]>>>();
function q(db: Db, sql: string) {
  let m = statements.get(db);
  if (!m) statements.set(db, m = new Map());
  let st = m.get(sql);
  if (!st) m.set(sql, st = db.prepare(sql));
  return st;
}

/** Runs `fn` in one write transaction; false when the database refused (read-only, full, busy too long). */
function write(db: Db, fn: () => void): boolean {
  try {
    db.exec("BEGIN IMMEDIATE");
  } catch (err) {
    if (isDamage(err)) throw err;
    return false;
  }
  try {
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
 * Rows of a query as arrays, aggregated to one JSON text by SQLite and parsed at once (node:sqlite builds
 * an object per row at several times the cost).
 */
function rowsOf<T extends unknown[]>(db: Db, columns: string, from: string, ...params: string[]): T[] {
  // In slug order: the order of the scan (the primary key, or an index that starts with it).
  const inner = columns.replace(/json\((\w+)\)/g, "$1");
  const sql =
    `SELECT json_group_array(json_array(${columns})) AS j FROM (SELECT ${inner} FROM ${from} ORDER BY slug)`;
  return JSON.parse((q(db, sql).get(...params) as { j: string }).j);
}

/** What a part of the index (list entries, search texts) needs to refresh itself. */
interface Part<V> {
  column: "list_key" | "search_key";
  /** The key of a project's files; `indexed`: runs.jsonl takes part (its appends change only its own key). */
  key(logs: string, indexed: boolean): StatKey | null;
  /** Reads the project's files (`indexed`: whether runs.jsonl exists; the key is taken after the read). */
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
 * again only the projects whose files changed: afterwards the database holds each of them as its files
 * are. Returns the slugs, sorted, and how many projects were read; false when what was read could not be
 * stored. `trusted`: dispatch-cc's own write, stored under its keys however recent (see indexProject).
 */
async function refresh<V>(
  db: Db,
  projectsDir: string,
  opts: IndexOptions,
  part: Part<V>,
  only?: string,
  trusted = false,
): Promise<{ slugs: string[]; read: number } | false> {
  const scanStart = Date.now();
  const racyMs = opts.racyMs ?? RACY_MS;
  const dirKey = statKey(projectsDir);
  const base = dirOf(projectsDir, "").slice(0, -1);
  const list = part.column === "list_key";
  const from = `projects INDEXED BY ${list ? "projects_list" : "projects_search"}${
    only ? " WHERE slug = ?" : ""
  }`;
  const columns = `slug, ${part.column}, ${list ? "indexed" : "0"}`; // what the index covers
  type Known = [slug: string, key: number | null, indexed: number];
  const known = new Map(rowsOf<Known>(db, columns, from, ...(only ? [only] : [])).map((r) => [r[0], r]));
  const folder = only ? undefined : q(db, "SELECT key FROM folder").get() as { key: number } | undefined;
  const sameSet = dirKey && folder?.key === dirKey.key;
  let slugs = only ? [only] : sameSet ? [...known.keys()] : dirKey ? readProjectSlugs(projectsDir) : [];
  const gone = new Set(only ? [] : known.keys());
  for (const s of slugs) gone.delete(s);
  const stale: { slug: string; key: StatKey | null }[] = [];
  for (const slug of slugs) {
    const row = known.get(slug);
    const key = part.key(`${base}/${slug}/.dispatch-logs`, row?.[2] === 1);
    // A row the folder's key vouches for whose folder is gone (an index written by another program).
    if (!key && !statKey(`${base}/${slug}`)) gone.add(slug);
    else if (!key || row?.[1] !== key.key) stale.push({ slug, key });
  }
  if (gone.size) slugs = slugs.filter((s) => !gone.has(s));
  const fresh = await mapLimit(stale, 16, async ({ slug }) => {
    const r = await part.read(db, projectsDir, slug);
    const k = part.key(`${base}/${slug}/.dispatch-logs`, r.indexed ?? false); // an append during the read is racy
    const keep = k && !r.volatile && (trusted || cacheable(k, scanStart, racyMs));
    return { slug, r, key: keep ? k.key : null };
  });
  const written = (fresh.length === 0 && gone.size === 0 && (only !== undefined || sameSet)) ||
    write(db, () => {
      for (const slug of gone) {
        q(db, "DELETE FROM fts WHERE rowid IN (SELECT id FROM texts WHERE slug = ?)").run(slug);
        q(db, "DELETE FROM texts WHERE slug = ?").run(slug);
        q(db, "DELETE FROM projects WHERE slug = ?").run(slug);
      }
      for (const f of fresh) part.store(db, f.slug, f.r.value, f.key, f.r.indexed ?? false);
      if (only) return;
      if (dirKey && cacheable(dirKey, scanStart, racyMs)) {
        q(db, "INSERT OR REPLACE INTO folder VALUES (0, ?)").run(dirKey.key);
      } else db.exec("DELETE FROM folder");
    });
  return written ? { slugs, read: stale.length } : false;
}

// ---- list and status

const keyFiles = (logs: string, ...names: string[]) =>
  joinKeys([statKey(logs), ...names.map((n) => statKey(`${logs}/${n}`))]);

/**
 * The stored entries' project_dir is a NUL and the slug, replaced by the projects folder when printed: the
 * index stays right whatever path the folder is reached by. (A string value cannot hold a raw quote or
 * line break, so this text is only ever the key.)
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
    const t = e.totals;
    // The text line: description, updated, status, problems, runs, cost, runs without cost.
    const line = [e.description, e.updated, e.status, e.problems, t.runs, t.cost_usd, t.runs_without_cost];
    // The entry as JSON.stringify(document, null, 2) prints it in list --json's projects array.
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

/** Every project with what the text of `list` shows, sorted by slug. */
export function listLines(projectsDir: string, opts: IndexOptions = {}): Promise<Listing<ListLine>> {
  return withIndex(projectsDir, opts, async (db) => {
    const r = await refresh(db, projectsDir, opts, LIST);
    if (!r) return false;
    const base = dirOf(projectsDir, "");
    type Line = [string, [string | null, string | null, string, string[], number, number, number]];
    const rows = rowsOf<Line>(db, "slug, json(line)", "projects");
    return {
      entries: rows.map((
        [slug, [description, updated, status, problems, runs, cost_usd, runs_without_cost]],
      ) => ({
        slug,
        project_dir: base + slug,
        description,
        updated,
        status,
        totals: { runs, cost_usd, runs_without_cost },
        problems,
      })),
      read: r.read,
    };
  });
}

/**
 * The projects array of `list --json` (its entries, between the brackets) as JSON.stringify(document, null,
 * 2) prints it, from the entries as the index stores them: they are neither parsed nor printed again.
 */
export function listEntriesText(
  projectsDir: string,
  opts: IndexOptions = {},
): Promise<{ text: string; read: number }> {
  return withIndex(projectsDir, opts, async (db) => {
    const r = await refresh(db, projectsDir, opts, LIST);
    if (!r) return false;
    const sql = "SELECT group_concat(entry, ',\n') AS text FROM (SELECT entry FROM projects ORDER BY slug)";
    const text = (q(db, sql).get() as { text: string | null }).text ?? "";
    const dir = JSON.stringify(dirOf(projectsDir, "x")).slice(1, -3);
    return { text: text.replaceAll(DIR_MARK, () => DIR_MARK.slice(0, -6) + dir), read: r.read };
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
export function cachedRunsSummary(
  projectsDir: string,
  paths: { slug: string },
  opts: IndexOptions = {},
): Promise<RunsSummary> {
  return withIndex(projectsDir, opts, async (db) => {
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

/** Reads what search looks through in one project; `known` holds result texts already read, by run id. */
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
    return { value: await readSearchSource(projectPaths(projectsDir, slug), known) };
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
 * Calls `visit` with every project that may match `needle` (lower-cased) or has a problem to report, its
 * source holding the texts that contain the needle and the runs with problems; returns how many projects
 * had to be read from their files. The trigram index finds the texts of needles of three characters or
 * more (it indexes the texts lower-cased as JavaScript does, so that it finds all that a scan finds);
 * shorter ones are looked for in every indexed text, as are all of them in an index in memory.
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
 * Brings one project's entry and texts up to date after dispatch-cc wrote it (a run's end, a new project),
 * so that the next command does not read it again: stored under keys however recent, as nothing else
 * writes a project while its run ends. Never throws: the index is only ever a shortcut.
 */
export async function indexProject(projectsDir: string, slug: string): Promise<void> {
  try {
    const db = await openIndex(projectsDir);
    try {
      await refresh(db!, projectsDir, {}, LIST, slug, true);
      await refresh(db!, projectsDir, {}, SEARCH, slug, true);
    } finally {
      db?.close();
    }
  } catch { /* the next listing reads the project */ }
}
