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
import { cacheable, INDEX_DIR, joinKeys, mapLimit, RACY_MS, readProjectSlugs, statKey } from "./freshness.ts";
import type { ProjectTotals } from "./history.ts";
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
  slug TEXT PRIMARY KEY, list_key INTEGER, indexed INTEGER, description TEXT, updated TEXT, status TEXT,
  problems TEXT, runs INTEGER, cost REAL, nocost INTEGER, entry TEXT, search_key INTEGER, meta_problem TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS texts(
  id INTEGER PRIMARY KEY, slug TEXT NOT NULL, ord INTEGER NOT NULL, run_id TEXT, problem TEXT, body TEXT);
CREATE INDEX IF NOT EXISTS texts_slug ON texts(slug);
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
      const version = (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version;
      if (version === VERSION) return db;
      const tables = db.prepare("SELECT count(*) AS n FROM sqlite_schema").get() as { n: number };
      if (version !== 0 || tables.n !== 0) throw Object.assign(new Error("another version"), { errcode: 26 });
      db.exec("PRAGMA journal_mode = WAL");
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
      if (!isDamage(err)) throw err;
      db.close();
      dropDb(dbFile(projectsDir)); // damaged after opening: rebuilt once
      continue;
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

/** What a part of the index (list entries, search texts) needs to refresh itself. */
interface Part<R> {
  column: "list_key" | "search_key";
  /** The key of a project's files (row: what the index holds of it). */
  key(logs: string, row: R | undefined): ReturnType<typeof joinKeys>;
  /** Reads the project's files; `key` is taken again after the read when it depends on them. */
  read(db: Db, projectsDir: string, slug: string): Promise<{ row: R; volatile?: boolean; rekey?: boolean }>;
  /** Stores a project read from its files under `key` (null: read it again next time). */
  store(db: Db, slug: string, row: R, key: number | null): void;
}

/**
 * Every project of the folder, sorted by slug, with what `part` holds of it, reading again (and storing)
 * only the projects whose files changed. `read` counts the projects read from their files.
 */
async function refresh<R extends { slug: string }>(
  db: Db,
  projectsDir: string,
  opts: IndexOptions,
  part: Part<R>,
  load: (slugs: string[]) => Map<string, R>,
): Promise<{ slugs: string[]; rows: Map<string, R>; read: number } | false> {
  const scanStart = Date.now();
  const racyMs = opts.racyMs ?? RACY_MS;
  const dirKey = statKey(projectsDir);
  if (!dirKey) return { slugs: [], rows: new Map(), read: 0 };
  const known = db.prepare(`SELECT slug, ${part.column} AS key FROM projects ORDER BY slug`).all() as {
    slug: string;
    key: number | null;
  }[];
  const folder = db.prepare("SELECT key FROM folder").get() as { key: number } | undefined;
  let slugs = folder?.key === dirKey.key ? known.map((k) => k.slug) : readProjectSlugs(projectsDir);
  const gone = new Set(known.map((k) => k.slug));
  for (const s of slugs) gone.delete(s);
  const base = join(projectsDir, "x").slice(0, -2); // projectsDir as join() writes it
  const keyOf = new Map(known.map((k) => [k.slug, k.key]));
  const rows = load(slugs);
  const stale: { slug: string; key: ReturnType<typeof joinKeys> }[] = [];
  for (const slug of slugs) {
    const key = part.key(`${base}/${slug}/.dispatch-logs`, rows.get(slug));
    // A row the folder's key vouches for whose folder is gone (an index written by another program).
    if (!key && !statKey(`${base}/${slug}`)?.key) gone.add(slug);
    else if (!key || keyOf.get(slug) !== key.key) stale.push({ slug, key });
  }
  if (gone.size) slugs = slugs.filter((s) => !gone.has(s));
  const fresh = await mapLimit(stale, 16, async ({ slug, key }) => {
    const r = await part.read(db, projectsDir, slug);
    rows.set(slug, r.row);
    const k = r.rekey ? part.key(`${base}/${slug}/.dispatch-logs`, r.row) : key;
    return { slug, r, key: k && !r.volatile && cacheable(k, scanStart, racyMs) ? k.key : null };
  });
  const written = (fresh.length === 0 && gone.size === 0 && folder?.key === dirKey.key) ||
    write(db, () => {
      for (const slug of gone) {
        db.prepare("DELETE FROM fts WHERE rowid IN (SELECT id FROM texts WHERE slug = ?)").run(slug);
        db.prepare("DELETE FROM texts WHERE slug = ?").run(slug);
        db.prepare("DELETE FROM projects WHERE slug = ?").run(slug);
      }
      for (const f of fresh) part.store(db, f.slug, f.r.row, f.key);
      if (cacheable(dirKey, scanStart, racyMs)) {
        db.prepare("INSERT OR REPLACE INTO folder VALUES (0, ?)").run(dirKey.key);
      } else db.exec("DELETE FROM folder");
    });
  return written && { slugs, rows, read: stale.length };
}

// ---- list and status

interface ListRow {
  slug: string;
  indexed: number;
  line: Omit<ListLine, "slug" | "project_dir">;
  /** list --json's entry after its slug and folder, as JSON.stringify(document, null, 2) prints it. */
  entry: string;
  whole?: ListEntry;
}

const keyFiles = (logs: string, ...names: string[]) =>
  joinKeys([statKey(logs), ...names.map((n) => statKey(`${logs}/${n}`))]);

const LIST: Part<ListRow> = {
  column: "list_key",
  // runs.jsonl takes part once it exists: its appends change only its own key.
  key: (logs, row) =>
    row?.indexed ? keyFiles(logs, "project.json", "runs.jsonl") : keyFiles(logs, "project.json"),
  async read(_db, projectsDir, slug) {
    const { entry, volatile, indexed } = await readListEntry(projectPaths(projectsDir, slug));
    const { slug: _s, project_dir: _d, ...rest } = entry;
    const t = entry.totals;
    const line = {
      description: entry.description,
      updated: entry.updated,
      status: entry.status,
      totals: { runs: t.runs, cost_usd: t.cost_usd, runs_without_cost: t.runs_without_cost },
      problems: entry.problems,
    };
    const text = "    " + JSON.stringify(rest, null, 2).slice(2).replaceAll("\n", "\n    ");
    return {
      row: { slug, indexed: indexed ? 1 : 0, line, entry: text, whole: entry },
      volatile,
      rekey: true,
    };
  },
  store(db, slug, r, key) {
    const l = r.line;
    db.prepare(
      `INSERT INTO projects (slug, list_key, indexed, description, updated, status, problems, runs, cost, nocost,
       entry) VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (slug) DO UPDATE SET list_key = excluded.list_key,
       indexed = excluded.indexed, description = excluded.description, updated = excluded.updated,
       status = excluded.status, problems = excluded.problems, runs = excluded.runs, cost = excluded.cost,
       nocost = excluded.nocost, entry = excluded.entry`,
    ).run(
      slug,
      key,
      r.indexed,
      l.description,
      l.updated,
      l.status,
      JSON.stringify(l.problems),
      l.totals.runs,
      l.totals.cost_usd,
      l.totals.runs_without_cost,
      r.entry,
    );
  },
};

/** The list rows of `slugs` as the index holds them. */
function loadList(db: Db, what: "line" | "entry" | "both") {
  return (slugs: string[]) => {
    const cols = what === "entry" ? "slug, indexed, entry" : "slug, indexed, description, updated, status, " +
      `problems, runs, cost, nocost${what === "both" ? ", entry" : ""}`;
    const rows = new Map<string, ListRow>();
    const sql = `SELECT ${cols} FROM projects WHERE list_key IS NOT NULL` +
      (slugs.length === 1 ? " AND slug = ?" : "");
    for (const r of db.prepare(sql).all(...(slugs.length === 1 ? slugs : [])) as Record<string, never>[]) {
      rows.set(r.slug, {
        slug: r.slug,
        indexed: r.indexed,
        entry: r.entry,
        line: what === "entry" ? null! : {
          description: r.description,
          updated: r.updated,
          status: r.status,
          totals: { runs: r.runs, cost_usd: r.cost, runs_without_cost: r.nocost },
          problems: r.problems === "[]" ? [] : JSON.parse(r.problems),
        },
      });
    }
    return rows;
  };
}

/** The entries and how many projects had to be read from their files. */
export interface Listing<E> {
  entries: E[];
  read: number;
}

const dirOf = (projectsDir: string, slug: string) => `${join(projectsDir, "x").slice(0, -2)}/${slug}`;

/** Every project with what the text of `list` shows, sorted by slug. */
export function listLines(projectsDir: string, opts: IndexOptions = {}): Promise<Listing<ListLine>> {
  return withIndex(projectsDir, opts, async (db) => {
    const r = await refresh(db, projectsDir, opts, LIST, loadList(db, "line"));
    return r && {
      entries: r.slugs.map((slug) => ({
        slug,
        project_dir: dirOf(projectsDir, slug),
        ...r.rows.get(slug)!.line,
      })),
      read: r.read,
    };
  });
}

/**
 * Every project's `list --json` entry as JSON.stringify(document, null, 2) prints it inside the document's
 * projects array, sorted by slug: indexed entries are neither parsed nor printed again.
 */
export async function listEntryTexts(projectsDir: string, opts: IndexOptions = {}): Promise<string[]> {
  return (await entryTexts(projectsDir, opts)).entries;
}

function entryTexts(projectsDir: string, opts: IndexOptions): Promise<Listing<string>> {
  return withIndex(projectsDir, opts, async (db) => {
    const r = await refresh(db, projectsDir, opts, LIST, loadList(db, "entry"));
    return r && {
      read: r.read,
      entries: r.slugs.map((slug) =>
        `    {\n      "slug": ${JSON.stringify(slug)},\n      "project_dir": ${
          JSON.stringify(dirOf(projectsDir, slug))
        },\n${r.rows.get(slug)!.entry}`
      ),
    };
  });
}

/** Every project's whole `list --json` entry, sorted by slug. */
export async function listProjects(
  projectsDir: string,
  opts: IndexOptions = {},
): Promise<Listing<ListEntry>> {
  const { entries, read } = await entryTexts(projectsDir, opts);
  return { entries: JSON.parse(`[${entries.join(",")}]`), read };
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
    const logs = `${dirOf(projectsDir, paths.slug)}/.dispatch-logs`;
    const row = loadList(db, "entry")([paths.slug]).get(paths.slug);
    const key = LIST.key(logs, row);
    const stored = db.prepare("SELECT list_key FROM projects WHERE slug = ?").get(paths.slug) as
      | { list_key: number | null }
      | undefined;
    let e: Pick<ListEntry, "totals" | "runs" | "last_run">;
    if (row && key && stored?.list_key === key.key) e = JSON.parse("{" + row.entry);
    else {
      const scanStart = Date.now();
      const r = await LIST.read(db, projectsDir, paths.slug);
      const k = LIST.key(logs, r.row);
      const keep = k && !r.volatile && cacheable(k, scanStart, opts.racyMs ?? RACY_MS);
      write(db, () => LIST.store(db, paths.slug, r.row, keep ? k.key : null));
      e = r.row.whole!;
    }
    return { totals: e.totals, run_count: e.runs, last_run_id: e.last_run?.run_id ?? null };
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

const SEARCH: Part<SearchSource & { slug: string }> = {
  column: "search_key",
  key: (logs) =>
    joinKeys([statKey(logs), statKey(`${logs}/project.json`), statKey(`${logs}/last-result.txt`) ?? MISSING]),
  async read(db, projectsDir, slug) {
    // A result file is written once, when its run ends: the texts already indexed are not read again.
    const known = new Map<string, string>();
    const sql = "SELECT run_id, body FROM texts WHERE slug = ? AND ord >= 2 AND body IS NOT NULL";
    for (const r of db.prepare(sql).all(slug) as { run_id: string; body: string }[]) {
      known.set(r.run_id, r.body);
    }
    return { row: { slug, ...await readSearchSource(projectPaths(projectsDir, slug), known) } };
  },
  store(db, slug, src, key) {
    db.prepare("DELETE FROM fts WHERE rowid IN (SELECT id FROM texts WHERE slug = ?)").run(slug);
    db.prepare("DELETE FROM texts WHERE slug = ?").run(slug);
    const text = db.prepare("INSERT INTO texts (slug, ord, run_id, problem, body) VALUES (?,?,?,?,?)");
    const fts = db.prepare("INSERT INTO fts (rowid, body) VALUES (?, ?)");
    const put = (ord: number, id: string | null, problem: string | null, body: string | null) => {
      const { lastInsertRowid } = text.run(slug, ord, id, problem, body);
      if (body !== null && !inMemory.has(db)) fts.run(lastInsertRowid, body.toLowerCase());
    };
    put(0, null, null, src.description);
    put(1, null, null, src.last_result);
    src.runs.forEach(([id, body, problem], i) => put(i + 2, id, problem, body));
    db.prepare(
      `INSERT INTO projects (slug, search_key, meta_problem) VALUES (?,?,?) ON CONFLICT (slug) DO UPDATE SET
       search_key = excluded.search_key, meta_problem = excluded.meta_problem`,
    ).run(slug, key, src.meta_problem);
  },
};

/**
 * Calls `visit` with every project that may match `needle` (lower-cased) or has a problem to report, its
 * source holding the texts that contain the needle and the runs with problems; returns how many projects
 * had to be read from their files. The trigram index finds the texts of needles of three characters or
 * more; shorter ones are looked for in every indexed text.
 */
export function scanSearchSources(
  projectsDir: string,
  visit: (slug: string, source: SearchSource) => void,
  opts: IndexOptions & { needle: string },
): Promise<{ read: number }> {
  const needle = opts.needle;
  return withIndex(projectsDir, opts, async (db) => {
    const r = await refresh(db, projectsDir, opts, SEARCH, () => new Map());
    if (!r) return false;
    type Text = {
      slug: string;
      ord: number;
      run_id: string | null;
      problem: string | null;
      body: string | null;
    };
    const cols = "t.slug, t.ord, t.run_id, t.problem, t.body";
    const texts = [...needle].length >= 3 && !inMemory.has(db)
      ? db.prepare(`SELECT ${cols} FROM fts JOIN texts t ON t.id = fts.rowid WHERE fts MATCH ?`)
        .all(`"${needle.replaceAll('"', '""')}"`) as Text[]
      : (db.prepare(`SELECT ${cols} FROM texts t WHERE body IS NOT NULL`).all() as Text[])
        .filter((t) => t.body!.toLowerCase().includes(needle));
    texts.push(...db.prepare(`SELECT ${cols} FROM texts t WHERE problem IS NOT NULL`).all() as Text[]);
    const sources = new Map<string, SearchSource & { texts: Text[] }>();
    const sourceOf = (slug: string, metaProblem: string | null = null) => {
      let s = sources.get(slug);
      if (!s) {
        sources.set(
          slug,
          s = { description: "", meta_problem: metaProblem, last_result: null, runs: [], texts: [] },
        );
      }
      return s;
    };
    for (
      const p of db.prepare("SELECT slug, meta_problem FROM projects WHERE meta_problem IS NOT NULL").all()
    ) {
      sourceOf(p.slug as string, p.meta_problem as string);
    }
    for (const slug of r.slugs) if (slug.toLowerCase().includes(needle)) sourceOf(slug);
    for (const t of texts) sourceOf(t.slug).texts.push(t);
    const present = new Set(r.slugs);
    for (const [slug, s] of sources) {
      if (!present.has(slug)) continue;
      s.texts.sort((a, b) => a.ord - b.ord);
      for (const t of s.texts) {
        if (t.ord === 0) s.description = t.body ?? "";
        else if (t.ord === 1) s.last_result = t.body;
        else if (s.runs.at(-1)?.[0] !== t.run_id) s.runs.push([t.run_id!, t.body, t.problem]);
      }
      visit(slug, {
        description: s.description,
        meta_problem: s.meta_problem,
        last_result: s.last_result,
        runs: s.runs,
      });
    }
    return { read: r.read };
  });
}

/**
 * Brings one project's entry and texts up to date after dispatch-cc wrote it (a run's end, a new project),
 * so that the next command does not read it again. Never throws: the index is only ever a shortcut.
 */
export async function indexProject(projectsDir: string, slug: string): Promise<void> {
  try {
    const db = await openIndex(projectsDir);
    if (!db) return;
    try {
      const logs = `${dirOf(projectsDir, slug)}/.dispatch-logs`;
      for (const part of [LIST, SEARCH] as Part<{ slug: string }>[]) {
        const r = await part.read(db, projectsDir, slug);
        const k = part.key(logs, r.row);
        write(db, () => part.store(db, slug, r.row, k && !r.volatile ? k.key : null));
      }
    } finally {
      db.close();
    }
  } catch { /* the next listing reads the project */ }
}
