/**
 * The run index of a project: `.dispatch-logs/runs.jsonl`, one JSON line per finished run, appended at
 * the end of each run. Runs the index does not know (projects of the earlier bash tool, a run still
 * going, an index that was deleted) are read from their own files, so the history is always complete.
 */
import { join } from "../paths.ts";
import type { RunRecord } from "./run_record.ts";
import { describeProblem, type FileRead, parseJsonObject } from "./files.ts";
import { inspectLock } from "./lock.ts";
import { isGoingOn, normalizeHistoryEntry, settleRecord } from "./record.ts";
import { runIdStart } from "./run_id.ts";
import { type LogsListing, readRunSync, type RunSummary, scanLogs } from "./runs.ts";

/** One line of runs.jsonl and one row of `history --json`. */
export interface HistoryEntry {
  run_id: string;
  command: string | null;
  status: string;
  exit_code: number | null;
  started: string | null;
  ended: string | null;
  duration_ms: number | null;
  num_turns: number | null;
  /** The run's own cost (corrected on reading for older entries: see {@linkcode correctCosts}). */
  cost_usd: number | null;
  /** The cost as the CLI reported it: on a Claude Code resume, the session's running total. */
  reported_cost_usd?: number | null;
  tokens: TokenCounts | null;
  session_id: string | null;
  model: string | null;
  /** The run's agent (absent in entries written before agents: Claude Code). */
  agent?: string;
  detached: boolean;
}

export interface TokenCounts {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

/** What a project's runs cost, summed over every run that reported it (`status`, `list`). */
export interface ProjectTotals {
  runs: number;
  cost_usd: number;
  /** Runs whose cost is unknown (crashed before a result, a corrupt file). */
  runs_without_cost: number;
  tokens: TokenCounts & { total: number };
}

export const HISTORY_FILE = "runs.jsonl";

export function historyPath(logsDir: string): string {
  return join(logsDir, HISTORY_FILE);
}

const num = (v: unknown) => typeof v === "number" && Number.isFinite(v) ? v : 0;

/** The token counts of a result's `usage` object (any missing field counts 0). */
export function tokenCounts(usage: unknown): TokenCounts | null {
  if (!usage || typeof usage !== "object") return null;
  const u = usage as Record<string, unknown>;
  return {
    input_tokens: num(u.input_tokens),
    output_tokens: num(u.output_tokens),
    cache_creation_input_tokens: num(u.cache_creation_input_tokens),
    cache_read_input_tokens: num(u.cache_read_input_tokens),
  };
}

/** Local `YYYYMMDD-HHMMSS` of a run id as an ISO time (runs of the earlier tool record no start). */
export const startFromRunId: (runId: string) => string | null = runIdStart;

/** The history entry of a finished run, as its dispatcher appends it to the index. */
export function historyEntryOf(record: RunRecord): HistoryEntry {
  return {
    run_id: record.run_id,
    command: record.command,
    status: record.status,
    exit_code: record.exit_code,
    started: record.started,
    ended: record.ended,
    duration_ms: record.duration_ms,
    num_turns: record.num_turns,
    cost_usd: record.cost_usd,
    reported_cost_usd: record.reported_cost_usd ?? null,
    tokens: tokenCounts(record.usage),
    session_id: record.session_id,
    model: record.model,
    agent: record.agent ?? "claude",
    detached: record.detached ?? false,
  };
}

/** A history entry from a run's own files. */
export function entryFromSummary(
  s: RunSummary,
  extra: { exit_code?: number | null; model?: string | null } = {},
): HistoryEntry {
  return {
    run_id: s.run_id,
    command: s.command,
    status: s.status,
    exit_code: extra.exit_code ?? null,
    started: s.started ?? startFromRunId(s.run_id),
    ended: s.ended,
    duration_ms: s.duration_ms,
    num_turns: s.num_turns,
    cost_usd: s.cost_usd,
    ...(s.reported_cost_usd !== undefined ? { reported_cost_usd: s.reported_cost_usd } : {}),
    tokens: tokenCounts(s.usage),
    session_id: s.session_id,
    model: extra.model ?? null,
    agent: s.agent ?? "claude",
    detached: false,
  };
}

/**
 * runs.jsonl's entries from what the safe reader gave for it ({@linkcode scanLogs} reads it); lines that
 * are not JSON or not a history entry (`normalizeHistoryEntry`) are skipped and reported. A missing index
 * is `null`.
 */
export function indexFromRead(read: FileRead): { entries: HistoryEntry[]; problems: string[] } | null {
  if (!read.ok && read.problem === "missing") return null;
  if (!read.ok && read.problem === "empty") return { entries: [], problems: [] };
  if (!read.ok) return { entries: [], problems: [`${HISTORY_FILE} ${describeProblem(read)}`] };
  const text = read.text;
  const entries: HistoryEntry[] = [];
  const problems: string[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    const r = parseJsonObject(line);
    const entry = r.ok ? normalizeHistoryEntry(r.value) : r;
    if (!entry.ok) {
      problems.push(`${HISTORY_FILE}:${i + 1} ${entry.problem}`);
      return;
    }
    entries.push(entry.value);
  });
  return { entries, problems };
}

/**
 * Every run of a project, oldest first: the index, completed by the runs it lacks (read from their
 * files). `listing`: the caller's {@linkcode scanLogs} of the folder when it has one (runs.jsonl is then not
 * read again, nor a file the listing shows is not there). A later line for the same run id wins.
 *
 * @example
 * ```ts
 * const { entries } = await readHistory("/p/.dispatch-logs");
 * ```
 */
export async function readHistory(
  logsDir: string,
  listing?: LogsListing,
): Promise<{ entries: HistoryEntry[]; problems: string[]; indexed: boolean; read: RunSummary[] }> {
  // Without the caller's listing, one of our own (a folder of thousands of runs is slow to list).
  const scan = listing?.logsDir === logsDir ? listing : scanLogs(logsDir);
  const index = indexFromRead(scan.index);
  const byId = new Map<string, HistoryEntry>();
  for (const e of index?.entries ?? []) byId.set(e.run_id, e);
  const problems = [...(index?.problems ?? [])];
  const ids = scan.ids;
  // Runs the index lacks, and runs its last line says are going on (their record says more).
  const missing = ids.filter((id) => !byId.has(id) || isGoingOn(byId.get(id)!.status));
  const read = missing.map((id) => readRunSync(logsDir, id, scan));
  const lock = read.some((s) => isGoingOn(s.status))
    ? await inspectLock(join(logsDir, "lock")).catch(() => null)
    : null;
  for (const s of read) {
    if (s.problem) problems.push(s.problem);
    byId.set(s.run_id, entryFromSummary(settleRecord(s, lock)));
  }
  const order = new Map(ids.map((id, i) => [id, i]));
  const entries = [...byId.values()].sort((a, b) =>
    (order.get(a.run_id) ?? Infinity) - (order.get(b.run_id) ?? Infinity) ||
    (a.started ?? "").localeCompare(b.started ?? "")
  );
  return { entries: correctCosts(entries), problems, indexed: index !== null, read };
}

const roundUsd = (x: number) => Math.round(x * 1e8) / 1e8;

/** The session's running total after a run, as the CLI reported it (older entries: their `cost_usd`). */
const sessionTotal = (e: HistoryEntry): number | null =>
  e.reported_cost_usd !== undefined ? e.reported_cost_usd : e.cost_usd;

/**
 * Each run's own cost. Claude Code's `total_cost_usd` on `--resume` is the session's running total; runs
 * recorded before dispatch-cc knew that (no `reported_cost_usd`) hold that total as their cost: it is
 * corrected here to the total minus the session's total after its previous run, where that run is known.
 * Entries oldest first; returns new entries, never changes a file.
 *
 * @example
 * ```ts
 * correctCosts([{ ...a, session_id: "s", cost_usd: 0.42 }, { ...b, session_id: "s", cost_usd: 0.42014 }])
 *   .map((e) => e.cost_usd); // [0.42, 0.00014]
 * ```
 */
export function correctCosts(entries: readonly HistoryEntry[]): HistoryEntry[] {
  const totals = new Map<string, number>();
  return entries.map((e) => {
    const total = sessionTotal(e);
    let out = e;
    if (e.reported_cost_usd === undefined && total !== null) {
      const before = e.session_id ? totals.get(e.session_id) : undefined;
      out = {
        ...e,
        reported_cost_usd: total,
        cost_usd: before !== undefined && total >= before ? roundUsd(total - before) : total,
      };
    }
    if (e.session_id && total !== null) totals.set(e.session_id, total);
    return out;
  });
}

/**
 * A run's own cost from the figure its CLI reported: on a resume, minus the session's total after its last
 * earlier run in `earlier` (null when no earlier run of the session reported one: unknown, never guessed).
 */
export function ownCost(
  reported: number,
  mode: "new" | "resume",
  sessionId: string | null,
  earlier: readonly HistoryEntry[],
  runId: string,
): number | null {
  if (mode !== "resume" || sessionId === null) return reported;
  const prev = earlier.filter((e) => e.run_id !== runId && e.session_id === sessionId)
    .map(sessionTotal).filter((t): t is number => t !== null).at(-1);
  if (prev === undefined || reported < prev) return null;
  return roundUsd(reported - prev);
}

/**
 * Appends one finished run to the index. When the index does not exist yet (a project of the earlier
 * tool, or one from before the index), the runs already on disk are written first, so the index is
 * complete from then on. Called with the project's lock held.
 */
export async function appendHistory(logsDir: string, entry: HistoryEntry): Promise<void> {
  const path = historyPath(logsDir);
  let lines = "";
  const exists = await Deno.stat(path).then(() => true, () => false);
  if (!exists) {
    const earlier = await readHistory(logsDir);
    for (const e of earlier.entries) if (e.run_id !== entry.run_id) lines += JSON.stringify(e) + "\n";
  }
  lines += JSON.stringify(entry) + "\n";
  // One write of whole lines in append mode: a reader sees complete lines, an interrupted write at most
  // a torn last line, which readIndex reports and skips.
  const file = await Deno.open(path, { read: true, write: true, create: true, append: true });
  try {
    // A torn last line (a writer killed mid-write) must not swallow this one.
    if (exists && (await file.stat()).size > 0) {
      await file.seek(-1, Deno.SeekMode.End);
      const last = new Uint8Array(1);
      if ((await file.read(last)) === 1 && last[0] !== 10) lines = "\n" + lines;
    }
    const data = new TextEncoder().encode(lines);
    let off = 0;
    while (off < data.length) off += await file.write(data.subarray(off));
  } finally {
    file.close();
  }
}

/** Sums cost and tokens over entries. */
export function totalsOf(entries: HistoryEntry[]): ProjectTotals {
  const t: ProjectTotals = {
    runs: entries.length,
    cost_usd: 0,
    runs_without_cost: 0,
    tokens: {
      input_tokens: 0,
      output_tokens: 0,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      total: 0,
    },
  };
  for (const e of entries) {
    if (typeof e.cost_usd === "number") t.cost_usd += e.cost_usd;
    else t.runs_without_cost++;
    const k = e.tokens;
    if (k) {
      t.tokens.input_tokens += num(k.input_tokens);
      t.tokens.output_tokens += num(k.output_tokens);
      t.tokens.cache_creation_input_tokens += num(k.cache_creation_input_tokens);
      t.tokens.cache_read_input_tokens += num(k.cache_read_input_tokens);
    }
  }
  t.tokens.total = t.tokens.input_tokens + t.tokens.output_tokens + t.tokens.cache_creation_input_tokens +
    t.tokens.cache_read_input_tokens;
  t.cost_usd = Math.round(t.cost_usd * 1e6) / 1e6;
  return t;
}

/**
 * A project's total cost and tokens across all its runs, for `status` and `list`. Reads the index
 * (one file) plus any run it lacks; never throws.
 *
 * @example
 * ```ts
 * const totals = await projectTotals(projectPaths(dir, "api").logsDir);
 * console.log(totals.cost_usd, totals.tokens.total);
 * ```
 */
export async function projectTotals(logsDir: string): Promise<ProjectTotals> {
  try {
    return totalsOf((await readHistory(logsDir)).entries);
  } catch {
    return totalsOf([]);
  }
}
