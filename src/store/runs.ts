import { folderPrefix, join } from "../paths.ts";
import { writeJsonAtomic, writeTextAtomic } from "./atomic.ts";
import {
  type FileRead,
  MISSING_JSON,
  readJsonObjectSafeSync,
  readTextSafe,
  readTextSafeSync,
} from "./files.ts";
import { runStamp } from "./project.ts";
import { appendHistory, HISTORY_FILE, historyEntryOf } from "./history.ts";
import { normalizeRecord } from "./record.ts";
import type { RunRecord } from "./run_record.ts";
import { compareRunIds, RUN_FILE, RUN_ID, sortRunIds } from "./run_id.ts";

export { compareRunIds, RUN_FILE };

/** The files of one run, all in `.dispatch-logs/` and named `<run id>-<kind>`. */
export interface RunFiles {
  runId: string;
  record: string;
  result: string;
  transcript: string;
  stderr: string;
}

export function runFiles(logsDir: string, runId: string): RunFiles {
  return {
    runId,
    record: join(logsDir, `${runId}-run.json`),
    result: join(logsDir, `${runId}-result.json`),
    transcript: join(logsDir, `${runId}-events.jsonl`),
    stderr: join(logsDir, `${runId}-stderr.log`),
  };
}

/** How a run record and the JSON documents name a run's files. */
export function fileFields(files: RunFiles) {
  return {
    run_id: files.runId,
    record_file: files.record,
    result_file: files.result,
    transcript_file: files.transcript,
    stderr_file: files.stderr,
  };
}

/**
 * Reserves a new run id by creating its record file exclusively, so two runs (even two steps of one
 * process in the same second) never share files, and enters it in the run index (runs.jsonl) at once: a
 * run is a run because dispatch-cc listed it there, never because a file with its name exists.
 */
export async function reserveRun(logsDir: string, now: Date, initial: RunRecord): Promise<RunFiles> {
  const base = `${runStamp(now)}-${Deno.pid}`;
  for (let n = 1;; n++) {
    const files = runFiles(logsDir, n === 1 ? base : `${base}.${n}`);
    try {
      await Deno.writeTextFile(files.record, "", { createNew: true });
      await writeJsonAtomic(files.record, { ...initial, run_id: files.runId });
      await appendHistory(logsDir, historyEntryOf({ ...initial, run_id: files.runId }));
      return files;
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
  }
}

/**
 * Takes back a reservation for a run that never began (a detached run whose supervisor could not start, or
 * was stopped first): its record and its line in the run index go; an index left empty goes too. Called
 * with the project's lock held.
 */
export async function unreserveRun(logsDir: string, files: RunFiles): Promise<void> {
  await Deno.remove(files.record).catch(() => {});
  const path = join(logsDir, HISTORY_FILE);
  const read = await readTextSafe(path);
  if (!read.ok) return;
  const text = read.text;
  const mine = `"run_id":${JSON.stringify(files.runId)}`;
  const kept = text.split("\n").filter((l) => l.trim() !== "" && !l.includes(mine));
  if (kept.length === 0) await Deno.remove(path).catch(() => {});
  else await writeTextAtomic(path, kept.join("\n") + "\n");
}

/** The run ids of a logs folder, and the files of runs dispatch-cc never listed. */
export interface RunListing {
  /** Run ids, oldest first. */
  ids: string[];
  /** Run files whose run id is not in the run index (planted, or left by something else): not runs. */
  foreign: string[];
}

const INDEXED_ID = /"run_id":"([^"\\]+)"/g;

/**
 * A logs folder as one listing of it shows it, with runs.jsonl read once: what a reader of many runs needs
 * to open only the files that are there, each once (`list` reads every project's runs cold).
 */
export interface LogsListing extends RunListing {
  logsDir: string;
  /** Each listed run id's file names; null when the folder could not be listed (then every file is tried). */
  files: Map<string, string[]> | null;
  /** The other names in the folder (project.json, lock, runs.jsonl, ...); null as for `files`. */
  names: Set<string> | null;
  /** runs.jsonl as the safe reader read it ("missing" without a read when the listing shows none). */
  index: FileRead;
  /** `logsDir` and a slash, when that joined to a file name is exactly what `join` gives; else null. */
  prefix: string | null;
}

const MISSING: FileRead = { ok: false, problem: "missing" };

/** The path of file `name` (a plain name: a run file, runs.jsonl) in the listed folder, as `join` gives it. */
export function listedPath(listing: LogsListing, name: string): string {
  return listing.prefix !== null ? listing.prefix + name : join(listing.logsDir, name);
}

/**
 * {@linkcode listRuns}, with what the listing showed kept for the readers of the same folder
 * ({@linkcode readRunSync}, `readHistory`, `readListEntry`).
 *
 * @example
 * ```ts
 * const listing = scanLogs("/p/.dispatch-logs");
 * const last = listing.ids.at(-1);
 * if (last) console.log(readRunSync("/p/.dispatch-logs", last, listing).status);
 * ```
 */
export function scanLogs(logsDir: string): LogsListing {
  const byId = new Map<string, string[]>();
  let names: Set<string> | null = new Set();
  try {
    // Synchronously: a folder of thousands of runs lists in a quarter of the async iteration's time.
    for (const entry of Deno.readDirSync(logsDir)) {
      const m = entry.name.match(RUN_FILE);
      if (m) {
        const known = byId.get(m[1]);
        if (known) known.push(entry.name);
        else byId.set(m[1], [entry.name]);
      } else names.add(entry.name);
    }
  } catch {
    // No logs folder: no runs. A listing that failed shows nothing of what is there: files are tried.
    names = null;
  }
  const prefix = folderPrefix(logsDir);
  let indexed: Set<string> | null = null;
  // The safe reader: a FIFO or a device in place of runs.jsonl must not hang (no index: every file counts).
  // A listing without it says it is missing (no failed open).
  const index = names !== null && !names.has(HISTORY_FILE)
    ? MISSING
    : readTextSafeSync(prefix !== null ? prefix + HISTORY_FILE : join(logsDir, HISTORY_FILE));
  if (index.ok) indexed = new Set([...index.text.matchAll(INDEXED_ID)].map((m) => m[1]));
  else if (index.problem === "empty") indexed = new Set();
  const ids: string[] = [];
  const foreign: string[] = [];
  for (const [id, files] of byId) {
    if (indexed === null || indexed.has(id)) ids.push(id);
    else foreign.push(...[...files].sort());
  }
  return {
    ids: sortRunIds(ids),
    foreign: foreign.sort(),
    logsDir,
    files: names === null ? null : byId,
    names,
    index,
    prefix,
  };
}

/**
 * The runs of a logs folder. With a run index (runs.jsonl, written by dispatch-cc from its own state at
 * each run's start and end), only the runs it lists count; a file named like a run that it does not list
 * is `foreign` (a run's tools could have written it). Without an index (projects of the earlier bash
 * tool) every run file counts.
 *
 * @example
 * ```ts
 * const { ids, foreign } = listRuns("/p/.dispatch-logs");
 * ```
 */
export function listRuns(logsDir: string): RunListing {
  const { ids, foreign } = scanLogs(logsDir);
  return { ids, foreign };
}

/** The run ids of a logs folder, oldest first ({@linkcode listRuns}). */
// deno-lint-ignore require-await
export async function listRunIds(logsDir: string): Promise<string[]> {
  return listRuns(logsDir).ids;
}

/** The problem line for files of runs dispatch-cc did not list, or null. */
export function foreignProblem(foreign: readonly string[]): string | null {
  if (foreign.length === 0) return null;
  const shown = foreign.slice(0, 3).join(", ") +
    (foreign.length > 3 ? `, ... (${foreign.length} files)` : "");
  return `not written by dispatch-cc (not in runs.jsonl), ignored: ${shown}`;
}

/** What we know of one run: our record when there is one, else what the earlier tool's result file says. */
export interface RunSummary {
  run_id: string;
  command: string | null;
  status: string;
  started: string | null;
  ended: string | null;
  duration_ms: number | null;
  num_turns: number | null;
  cost_usd: number | null;
  /** The cost as the CLI reported it (absent for runs recorded before it was kept). */
  reported_cost_usd?: number | null;
  usage: Record<string, number> | null;
  session_id: string | null;
  /** The run's agent ("claude" for runs recorded before agents, and for the earlier tool's). */
  agent?: string;
  stop_reason: string | null;
  error: string | null;
  permission_denials: { tool: string; input: unknown; source?: string; reason?: string }[];
  /** The sandbox layers the run had (permission, ceiling, OS sandbox, environment names); null if unknown. */
  layers: RunLayers | null;
  result_file: string | null;
  /** A problem reading this run's files, when there is one. */
  problem: string | null;
}

/** The three sandbox layers of a run, as its record keeps them (README "Sandbox"). */
export interface RunLayers {
  permission: string | null;
  permission_ceiling: string | null;
  allow_dangerous: boolean;
  sandbox: { kind: string; network: boolean } | null;
  env_names: string[];
}

/** The layers from a run record; null for records written before they were kept. */
function runLayers(v: Record<string, unknown>): RunLayers | null {
  if (v.sandbox === undefined && v.env_names === undefined) return null;
  const sb = v.sandbox as { kind?: unknown; network?: unknown } | null | undefined;
  return {
    permission: typeof v.permission === "string" ? v.permission : null,
    permission_ceiling: typeof v.permission_ceiling === "string" ? v.permission_ceiling : null,
    allow_dangerous: v.allow_dangerous === true,
    sandbox: sb && typeof sb.kind === "string" ? { kind: sb.kind, network: sb.network !== false } : null,
    env_names: Array.isArray(v.env_names) ? v.env_names.filter((n) => typeof n === "string") : [],
  };
}

const num = (v: unknown) => typeof v === "number" && Number.isFinite(v) ? v : null;
const str = (v: unknown) => typeof v === "string" ? v : null;

/**
 * Status of a run known only by the CLI's final result object (the earlier tool's audit trail):
 * `is_error` first, then denials, as the earlier tool reported them (BLOCKED).
 */
export function statusFromResultObject(r: Record<string, unknown>): string {
  if (r.subtype === "error_max_turns") return "max_turns";
  if (r.subtype === "error_max_budget_usd") return "budget_exceeded";
  if (r.is_error === true || String(r.subtype ?? "").startsWith("error")) return "error";
  if (Array.isArray(r.permission_denials) && r.permission_denials.length > 0) return "blocked";
  return "success";
}

/**
 * Summarizes one run from its files; never throws. A record that is not what a run record holds makes
 * the run "corrupt" (with the problem); a run without a record is read from its result file.
 */
// deno-lint-ignore require-await
export async function readRun(logsDir: string, runId: string): Promise<RunSummary> {
  return readRunSync(logsDir, runId);
}

/**
 * {@linkcode readRun}, synchronously. With the `listing` of `logsDir` ({@linkcode scanLogs}), a file the
 * listing shows is not there is known missing without trying to open it: the same answer, fewer calls.
 */
export function readRunSync(logsDir: string, runId: string, listing?: LogsListing): RunSummary {
  const known = listing?.logsDir === logsDir && listing.files !== null && RUN_ID.test(runId) ? listing : null;
  const names = known?.files?.get(runId);
  const listed = (name: string) => known === null || (names !== undefined && names.includes(name));
  const pathOf = (name: string) => known !== null ? listedPath(known, name) : join(logsDir, name);
  const read = (name: string) => listed(name) ? readJsonObjectSafeSync(pathOf(name)) : MISSING_JSON;
  const recordName = `${runId}-run.json`;
  const rec = read(recordName);
  const checked = rec.ok ? normalizeRecord(rec.value) : null;
  if (checked?.ok) {
    const v = checked.value;
    // A verified run's last round holds the sums over its rounds; a summary (history, totals) counts
    // each run's own figures, kept in `rounds`.
    const rounds: unknown[] = Array.isArray(v.rounds) ? v.rounds : [];
    const own = rounds.find((r): r is Record<string, unknown> =>
      typeof r === "object" && r !== null && (r as { run_id?: unknown }).run_id === runId
    );
    return {
      run_id: runId,
      command: v.command,
      status: v.status,
      started: v.started || null,
      ended: v.ended,
      duration_ms: v.duration_ms,
      num_turns: own ? num(own.num_turns) : v.num_turns,
      cost_usd: own ? num(own.cost_usd) : v.cost_usd,
      ...(v.reported_cost_usd !== undefined ? { reported_cost_usd: v.reported_cost_usd } : {}),
      usage: own
        ? (typeof own.usage === "object" ? own.usage as Record<string, number> | null : null)
        : v.usage,
      session_id: v.session_id,
      agent: typeof v.agent === "string" ? v.agent : "claude",
      stop_reason: v.stop_reason,
      error: v.error,
      permission_denials: v.permission_denials,
      layers: runLayers(v as unknown as Record<string, unknown>),
      result_file: v.result_file || null,
      problem: null,
    };
  }
  const resultName = `${runId}-result.json`;
  const base: RunSummary = {
    run_id: runId,
    command: null,
    status: "unknown",
    started: null,
    ended: null,
    duration_ms: null,
    num_turns: null,
    cost_usd: null,
    usage: null,
    session_id: null,
    stop_reason: null,
    error: null,
    permission_denials: [],
    layers: null,
    result_file: pathOf(resultName),
    problem: null,
  };
  // A record that is there but not a run record makes the run corrupt, whatever its result file holds
  // (which is then not read).
  if (checked && !checked.ok) {
    return { ...base, status: "corrupt", problem: `${runId}-run.json ${checked.problem}` };
  }
  const res = read(resultName);
  if (!res.ok) return { ...base, status: "corrupt", problem: `${runId}-result.json ${res.problem}` };
  const r = res.value;
  // As the runner reads a final result (src/agents/claude_code/stream.ts): a usage that is not an object of
  // token counts makes the result malformed, never a success.
  const usageOk = r.usage === undefined || r.usage === null ||
    (typeof r.usage === "object" && !Array.isArray(r.usage) &&
      Object.entries(r.usage).every(([k, v]) => !k.endsWith("_tokens") || typeof v === "number"));
  return {
    ...base,
    status: usageOk ? statusFromResultObject(r) : "error",
    duration_ms: num(r.duration_ms),
    num_turns: num(r.num_turns),
    cost_usd: num(r.total_cost_usd) ?? num(r.cost_usd),
    usage: usageOk && r.usage && typeof r.usage === "object" ? r.usage as Record<string, number> : null,
    session_id: str(r.session_id),
    stop_reason: str(r.stop_reason),
    error: !usageOk ? "the final result is malformed (usage)" : r.is_error === true ? str(r.result) : null,
    permission_denials: Array.isArray(r.permission_denials)
      ? r.permission_denials.map((d: Record<string, unknown>) => ({
        tool: String(d?.tool_name ?? "unknown"),
        input: d?.tool_input ?? null,
      }))
      : [],
  };
}

export function writeRecord(path: string, record: object): Promise<void> {
  return writeJsonAtomic(path, record);
}
