/**
 * What `search` looks through, per project: the description, last-result.txt and the result text of
 * every run (newest first). Read cold from the files, or from a cache sharded by slug
 * (`.dispatch-index/search-v3-NN.txt`) under the stat keys of `.dispatch-logs/`, project.json and
 * last-result.txt. A new run changes `.dispatch-logs/`, and the project is read again, reusing the texts
 * of result files already read: a result file is written once, when its run ends.
 */
import { join } from "../paths.ts";
import { readJsonObjectSafe, readTextSafe } from "./files.ts";
import {
  cacheable,
  dropOldVersions,
  joinKeys,
  mapLimit,
  RACY_MS,
  readIndexFile,
  readIndexWith,
  readProjectSlugs,
  statKey,
  writeIndexFile,
} from "./freshness.ts";
import { type ProjectPaths, projectPaths, readProjectMeta } from "./project.ts";
import { listRunIds, runFiles } from "./runs.ts";
import { countBlock } from "../search_match.ts";

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
  /**
   * The same texts lower-cased, when the cache already had them (search then need not lower-case each
   * text again): description, last result, then each run's, as in `runs`.
   */
  lower?: (string | null)[];
  /**
   * With a keyword and the cache: which of those texts (same numbering) may hold it; the others do not,
   * so search need not look at them (a project may have thousands of runs).
   */
  may_match?: Set<number>;
  /**
   * With a keyword and the cache: the matching lines of the texts, counted over the whole shard at once
   * (countBlock); the source then holds only its problems, and `expand` gives its texts.
   */
  counted?: number;
  expand?: () => SearchSource;
}

const SHARDS = 64;
const shardFile = (n: number) => `search-v3-${String(n).padStart(2, "0")}.txt`;

/**
 * One project in a shard: slug, stat key, project.json's problem, its runs (id and problem), and the
 * length of each of its texts in the shard's block (description, last result, each run's result; -1 for
 * none).
 */
type ShardRow = [
  slug: string,
  key: number,
  metaProblem: string | null,
  runs: [id: string, problem: string | null][],
  lengths: number[],
];

/**
 * A shard file is a JSON header line (`{"v":3,"gen":"...","rows":[...]}`) followed by every text of its
 * projects as one raw block, in row order: a keyword that occurs in none of them is ruled out by one
 * `indexOf` over the lower-cased block, without parsing a JSON string of result text. `gen` is new at each
 * write: the manifest names the generation of each shard it describes.
 */
interface Shard {
  gen: string;
  rows: ShardRow[];
  block: string;
  /** `block` lower-cased, once a search computed it with the same length (positions then agree). */
  lower?: string;
  /** Where each row's texts start in `block` (one more entry: the block's end). */
  starts: number[];
}

function isRow(r: unknown): r is ShardRow {
  return Array.isArray(r) && r.length === 5 && typeof r[0] === "string" && typeof r[1] === "number" &&
    Array.isArray(r[3]) && Array.isArray(r[4]) && r[4].length === r[3].length + 2 &&
    r[4].every((len) => Number.isSafeInteger(len) && len >= -1);
}

/** Reads a shard; null when it is missing, unreadable, corrupt or of another version. */
function readShard(projectsDir: string, n: number): Shard | null {
  return readIndexWith(projectsDir, shardFile(n), parseShard);
}

function parseShard(text: string): Shard | null {
  const nl = text.indexOf("\n");
  if (nl === -1) return null;
  const header: { v?: unknown; gen?: unknown; rows?: unknown } = JSON.parse(text.slice(0, nl));
  if (
    header?.v !== 3 || typeof header.gen !== "string" || !Array.isArray(header.rows) ||
    !header.rows.every(isRow)
  ) {
    return null;
  }
  const block = text.slice(nl + 1);
  const starts = [0];
  let at = 0;
  for (const row of header.rows as ShardRow[]) {
    for (const len of row[4]) at += Math.max(0, len);
    starts.push(at);
  }
  return at === block.length ? { gen: header.gen, rows: header.rows as ShardRow[], block, starts } : null;
}

/** The source of row `i`, its texts cut from the block. */
function sourceOf(shard: Shard, i: number): SearchSource {
  const [, , metaProblem, runs, lengths] = shard.rows[i];
  const texts: (string | null)[] = [];
  const lower: (string | null)[] = [];
  let at = shard.starts[i];
  for (const len of lengths) {
    if (len < 0) {
      texts.push(null);
      lower.push(null);
      continue;
    }
    texts.push(shard.block.slice(at, at + len));
    lower.push(shard.lower ? shard.lower.slice(at, at + len) : null);
    at += len;
  }
  return {
    description: texts[0] ?? "",
    meta_problem: metaProblem,
    last_result: texts[1],
    runs: runs.map(([id, problem], k) => [id, texts[k + 2], problem]),
    ...(shard.lower ? { lower } : {}),
  };
}

/** A shard's file text: the header line (with generation `gen`) and the block. */
function shardText(gen: string, entries: [slug: string, key: number, source: SearchSource][]): string {
  const rows: ShardRow[] = [];
  const texts: string[] = [];
  const put = (t: string | null) => {
    if (t !== null) texts.push(t);
    return t === null ? -1 : t.length;
  };
  for (const [slug, key, src] of entries) {
    const lengths = [put(src.description), put(src.last_result), ...src.runs.map(([, t]) => put(t))];
    rows.push([slug, key, src.meta_problem, src.runs.map(([id, , p]) => [id, p]), lengths]);
  }
  return JSON.stringify({ v: 3, gen, rows }) + "\n" + texts.join("");
}

/**
 * What each row of a shard holds of `needle`, counted over the lower-cased block in one pass (countBlock).
 * null when the block cannot be searched as one (lower-casing changed its length, or the needle has a
 * letter whose lower case depends on its neighbours): then each project is matched on its own.
 */
function blockCounts(shard: Shard, needle: string): ReturnType<typeof countBlock> | null {
  if (/[\u03a3\u03c2\u03c3]/.test(needle)) return null;
  const lower = shard.block.toLowerCase();
  if (lower.length !== shard.block.length) return null;
  shard.lower = lower;
  return countBlock(
    shard.block,
    lower,
    needle,
    shard.rows.map((row, i) => ({ start: shard.starts[i], lengths: row[4] })),
  );
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
  /**
   * The lower-cased keyword: projects from the cache whose slug and texts cannot contain it and that
   * have no problem to report are not visited.
   */
  needle?: string;
}

/**
 * `search-v3.json`: the projects folder's key when it was written and, for each shard, the generation of
 * the shard file it describes and the slugs of that shard's group that the file does not hold (bare
 * folders, files too new to cache), or null for a group with no project. While the folder's key is
 * unchanged no project was added, removed or renamed, so a shard of the named generation and those slugs
 * are the whole group, and the folder need not be listed (a tenth of a search at 10,000 projects). A shard
 * rewritten since (by a concurrent search, or one that stopped before writing the manifest) has another
 * generation, and its group is listed from the folder.
 */
const MANIFEST = "search-v3.json";
interface Manifest {
  v: 3;
  dir: number;
  shards: ([gen: string, unstored: string[]] | null)[];
}
const isManifest = (v: unknown): v is Manifest => {
  const o = v as Manifest;
  return !!o && o.v === 3 && typeof o.dir === "number" && Array.isArray(o.shards) &&
    o.shards.length === SHARDS &&
    o.shards.every((e) =>
      e === null ||
      (Array.isArray(e) && typeof e[0] === "string" && Array.isArray(e[1]) &&
        e[1].every((x) => typeof x === "string"))
    );
};

/** A new shard generation: unique enough that two writers never pick the same. */
const newGeneration = () => crypto.randomUUID().slice(0, 13);

/**
 * Calls `visit` with every project's search source (with `needle`: every project that may match it or
 * has a problem, with only the texts that may match), a shard at a time (memory stays bounded by one
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
  const dirKey = statKey(projectsDir);
  const manifest = useCache ? readIndexFile(projectsDir, MANIFEST, isManifest) : null;
  const trusted = manifest !== null && dirKey !== null && manifest.dir === dirKey.key ? manifest : null;
  let listed: string[][] | null = null;
  /** The folder's projects by shard, listed once when some shard cannot say which projects it has. */
  const listedGroups = () => {
    if (listed) return listed;
    listed = Array.from({ length: SHARDS }, () => []);
    for (const slug of readProjectSlugs(projectsDir)) listed[shardOf(slug)].push(slug);
    return listed;
  };
  const described: Manifest["shards"] = [];
  let written = true;
  let read = 0;
  const base = join(projectsDir, "x").slice(0, -2); // projectsDir as join() writes it
  for (let n = 0; n < SHARDS; n++) {
    const said = trusted?.shards[n];
    const old = useCache && said !== null ? readShard(projectsDir, n) : null;
    const slugs = said === null
      ? []
      : said && old?.gen === said[0]
      ? [...new Set([...old.rows.map((r) => r[0]), ...said[1]])]
      : listedGroups()[n];
    if (slugs.length === 0) {
      described.push(null);
      continue;
    }
    const oldAt = new Map(old?.rows.map((r, i) => [r[0], i]));
    const counts = old && opts.needle !== undefined ? blockCounts(old, opts.needle) : null;
    const rows: [string, number, SearchSource][] = [];
    const unstored: string[] = [];
    const stale: { slug: string; key: ReturnType<typeof joinKeys>; i: number | undefined }[] = [];
    for (const slug of slugs) {
      // Paths by concatenation: projectPaths()'s eight joins cost a third of the stats.
      const logs = `${base}/${slug}/.dispatch-logs`;
      const key = joinKeys([
        statKey(logs),
        statKey(`${logs}/project.json`),
        statKey(`${logs}/last-result.txt`) ?? MISSING,
      ]);
      const i = oldAt.get(slug);
      if (key && old && i !== undefined && old.rows[i][1] === key.key) {
        const row = old.rows[i];
        const hit = counts?.get(i);
        const runProblems = row[3].some((r) => r[1] !== null);
        const mayMatch = !counts || hit !== undefined || slug.toLowerCase().includes(opts.needle!) ||
          row[2] !== null || runProblems;
        // The texts are cut from the block only when they are needed (a visit or a rewrite).
        rows.push([slug, key.key, LAZY(old, i)]);
        if (mayMatch && counts) {
          visit(slug, {
            description: "",
            meta_problem: row[2],
            last_result: null,
            runs: runProblems
              ? row[3].filter((r) => r[1] !== null).map(([id, problem]) => [id, null, problem])
              : [],
            counted: hit?.count ?? 0,
            expand: () => candidateSource(old, i, hit?.texts ?? new Set()),
          });
        } else if (mayMatch) visit(slug, sourceOf(old, i));
      } else stale.push({ slug, key, i });
    }
    read += stale.length;
    await mapLimit(stale, 8, async ({ slug, key, i }) => {
      const known = new Map<string, string>();
      if (old && i !== undefined) {
        for (const [id, text] of sourceOf(old, i).runs) if (text !== null) known.set(id, text);
      }
      const source = await readSearchSource(projectPaths(projectsDir, slug), known);
      if (cacheable(key, scanStart, racyMs)) rows.push([slug, key.key, source]);
      else unstored.push(slug);
      visit(slug, source);
    });
    // Rewritten only when what it would hold differs (projects never cached are read each time).
    const same = old !== null && old.rows.length === rows.length &&
      rows.every(([slug, key]) => old.rows[oldAt.get(slug) ?? -1]?.[1] === key);
    let gen = old?.gen ?? "";
    if (useCache && !same) {
      gen = newGeneration();
      const entries = rows.map(([slug, key, src]): [string, number, SearchSource] => [
        slug,
        key,
        isLazy(src) ? sourceOf(src.shard, src.i) : src,
      ]);
      if (!(await writeIndexFile(projectsDir, shardFile(n), shardText(gen, entries)))) written = false;
    }
    described.push([gen, unstored]);
  }
  const next: Manifest = { v: 3, dir: dirKey?.key ?? 0, shards: described };
  if (
    useCache && written && dirKey && cacheable(dirKey, scanStart, racyMs) &&
    JSON.stringify(next) !== JSON.stringify(trusted)
  ) {
    await writeIndexFile(projectsDir, MANIFEST, next);
    await dropOldVersions(projectsDir);
  }
  return { read };
}

/**
 * What search must see of a cached project that may match: only the texts that may hold the needle
 * (`may`, numbered as in SearchSource.lower), the runs with problems, and their lower-cased copies. A
 * project with thousands of runs then costs as much as its matching ones.
 */
function candidateSource(shard: Shard, i: number, may: Set<number>): SearchSource {
  const [, , metaProblem, runs, lengths] = shard.rows[i];
  const starts: number[] = [];
  let at = shard.starts[i];
  for (const len of lengths) {
    starts.push(at);
    at += Math.max(0, len);
  }
  const cut = (k: number, from: string) =>
    may.has(k) && lengths[k] >= 0 ? from.slice(starts[k], starts[k] + lengths[k]) : null;
  const lower = shard.lower!;
  const src: SearchSource = {
    description: cut(0, shard.block) ?? "",
    meta_problem: metaProblem,
    last_result: cut(1, shard.block),
    runs: [],
    lower: [cut(0, lower), cut(1, lower)],
    may_match: new Set([0, 1].filter((k) => may.has(k))),
  };
  for (let r = 0; r < runs.length; r++) {
    const [id, problem] = runs[r];
    if (!may.has(r + 2) && problem === null) continue;
    if (may.has(r + 2)) src.may_match!.add(src.runs.length + 2);
    src.runs.push([id, cut(r + 2, shard.block), problem]);
    src.lower!.push(cut(r + 2, lower));
  }
  return src;
}

/** A row not visited: its texts are cut from the old block only if the shard is rewritten. */
interface Lazy extends SearchSource {
  shard: Shard;
  i: number;
}
const LAZY = (shard: Shard, i: number): Lazy => ({
  description: "",
  meta_problem: null,
  last_result: null,
  runs: [],
  shard,
  i,
});
const isLazy = (s: SearchSource): s is Lazy => "shard" in s;

/** last-result.txt may be absent (a project whose first run is still going): a fixed key then. */
const MISSING = { key: 0, changed: 0 };
