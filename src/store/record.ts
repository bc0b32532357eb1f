/**
 * Run records (`<run id>-run.json`) and history lines (`runs.jsonl`) as readers may rely on them. Both
 * are files anyone can edit or damage, and records of older versions lack fields added since; every
 * reader (`readRun`, the history index, `wait`, `logs`, `cancel`) goes through one check here, so that a
 * file that does not hold what they rely on is reported as corrupt instead of crashing them. Fields a
 * record lacks get their empty value; a field of the wrong type, an unknown status or an exit code
 * outside the documented table makes the whole record corrupt.
 *
 * Also here: how a reader settles a run whose record says it is still going on (`settleRecord`).
 *
 * @module
 */
import { EXIT } from "../exit_codes.ts";
import { type DispatchCommand, RUN_STATUSES, type RunRecord } from "./run_record.ts";
import { SANDBOX_KINDS, type SandboxKind } from "../sandbox/choice.ts";
import { PERMISSION_MODES, type PermissionMode } from "../sandbox/permission.ts";
import type { HistoryEntry } from "./history.ts";
import type { LockState } from "./lock.ts";
import { RUN_ID, runIdStart } from "./run_id.ts";

/** What a check gave: the value as readers may use it, or a one-line problem. */
export type Checked<T> = { ok: true; value: T } | { ok: false; problem: string };

/**
 * Statuses a run record may hold: every way a run ends (`RUN_STATUSES`, with "abandoned"), and "starting"
 * (a detached run not yet begun).
 */
export const RECORD_STATUSES: ReadonlySet<string> = new Set<string>([...RUN_STATUSES, "starting"]);
/** History rows also show runs known only by a damaged or unknown result file. */
const HISTORY_STATUSES: ReadonlySet<string> = new Set<string>([...RECORD_STATUSES, "corrupt", "unknown"]);
const EXIT_CODES: ReadonlySet<number> = new Set<number>(Object.values(EXIT));
const isExitCode = (x: unknown) => typeof x === "number" && EXIT_CODES.has(x);
const COMMANDS: ReadonlySet<string> = new Set<DispatchCommand>(["run", "resume", "review", "apply"]);
const PERMISSIONS: ReadonlySet<string> = new Set<string>(PERMISSION_MODES);

class Corrupt extends Error {}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const shown = (v: unknown) => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? s.slice(0, 37) + "..." : s;
};

/** Typed access to one JSON object's fields; a missing field gives `fallback`, a wrong one throws Corrupt. */
function fields(v: Record<string, unknown>) {
  const get = <T>(name: string, fallback: T, ok: (x: unknown) => boolean, want: string): T => {
    const x = v[name];
    if (x === undefined) return fallback;
    if (!ok(x)) throw new Corrupt(`its "${name}" is not ${want} (${shown(x)})`);
    return x as T;
  };
  const isNum = (x: unknown) => typeof x === "number" && Number.isFinite(x);
  const arrayOf = (ok: (x: unknown) => boolean) => (x: unknown) => Array.isArray(x) && x.every(ok);
  return {
    get,
    /** `{ [name]: read() }` when the record has the field, else nothing (optional fields stay absent). */
    optional: <T>(name: string, read: () => T): Record<string, T> =>
      v[name] === undefined ? {} : { [name]: read() },
    required<T>(name: string, ok: (x: unknown) => boolean, want: string): T {
      if (v[name] === undefined) throw new Corrupt(`it has no "${name}"`);
      return get<T>(name, undefined as T, ok, want);
    },
    str: (name: string, fallback = "") => get(name, fallback, (x) => typeof x === "string", "a string"),
    strOrNull: (name: string) =>
      get<string | null>(name, null, (x) => x === null || typeof x === "string", "a string"),
    num: (name: string, fallback = 0) => get(name, fallback, isNum, "a number"),
    numOrNull: (name: string) => get<number | null>(name, null, (x) => x === null || isNum(x), "a number"),
    bool: (name: string, fallback = false) =>
      get(name, fallback, (x) => typeof x === "boolean", "true or false"),
    objOrNull: <T>(name: string) => get<T | null>(name, null, (x) => x === null || isObject(x), "an object"),
    strings: (name: string) =>
      get<string[]>(name, [], arrayOf((x) => typeof x === "string"), "a list of strings"),
    objects: <T>(name: string, ok: (x: Record<string, unknown>) => boolean = () => true, want = "objects") =>
      get<T[]>(name, [], arrayOf((x) => isObject(x) && ok(x)), `a list of ${want}`),
    oneOf: <T extends string>(name: string, allowed: ReadonlySet<string>, fallback: T) =>
      get<T>(
        name,
        fallback,
        (x) => typeof x === "string" && allowed.has(x),
        `one of ${[...allowed].join(", ")}`,
      ),
  };
}

function check<T>(value: unknown, read: (f: ReturnType<typeof fields>) => T): Checked<T> {
  if (!isObject(value)) return { ok: false, problem: "is not a JSON object" };
  try {
    return { ok: true, value: read(fields(value)) };
  } catch (err) {
    if (err instanceof Corrupt) return { ok: false, problem: `is corrupt: ${err.message}` };
    throw err;
  }
}

const runId = (f: ReturnType<typeof fields>) =>
  f.required<string>("run_id", (x) => typeof x === "string" && RUN_ID.test(x), "a run id");
const status = (f: ReturnType<typeof fields>, allowed: ReadonlySet<string>) =>
  f.required<string>("status", (x) => typeof x === "string" && allowed.has(x), "a known status");

/**
 * A run record as readers may use it, or why it is corrupt. Extra fields (of a later version) are kept.
 *
 * @example
 * ```ts
 * const r = normalizeRecord(JSON.parse(await Deno.readTextFile(recordFile)));
 * if (!r.ok) console.error(`run record ${r.problem}`); // "run record is corrupt: its "exit_code" ..."
 * ```
 */
export function normalizeRecord(value: unknown): Checked<RunRecord> {
  return check(value, (f) => {
    if (f.num("version", 1) !== 1) throw new Corrupt(`its version is not 1`);
    const id = runId(f);
    const runStatus = status(f, RECORD_STATUSES) as RunRecord["status"];
    const sandbox = f.objOrNull<Record<string, unknown>>("sandbox");
    return {
      ...(value as Record<string, unknown>),
      version: 1,
      run_id: id,
      slug: f.str("slug"),
      project_dir: f.str("project_dir"),
      command: f.oneOf<DispatchCommand>("command", COMMANDS, "run"),
      status: runStatus,
      // A run still going on has no exit code yet; a finished one must say how it ended.
      exit_code: isGoingOn(runStatus)
        ? f.get<number>("exit_code", 0, isExitCode, "a documented exit code")
        : f.required<number>("exit_code", isExitCode, "a documented exit code"),
      error: f.strOrNull("error"),
      api_error_status: f.numOrNull("api_error_status"),
      session_id: f.strOrNull("session_id"),
      session_mode: f.oneOf<"new" | "resume">("session_mode", new Set(["new", "resume"]), "new"),
      last_assistant_uuid: f.strOrNull("last_assistant_uuid"),
      result: f.strOrNull("result"),
      num_turns: f.numOrNull("num_turns"),
      duration_ms: f.numOrNull("duration_ms"),
      cost_usd: f.numOrNull("cost_usd"),
      ...f.optional("reported_cost_usd", () => f.numOrNull("reported_cost_usd")),
      usage: usageOf(f),
      stop_reason: f.strOrNull("stop_reason"),
      model: f.strOrNull("model"),
      permission: f.oneOf<PermissionMode>("permission", PERMISSIONS, "default"),
      ...(sandbox ? { sandbox: { kind: sandboxKind(sandbox), network: sandbox.network !== false } } : {}),
      ...f.optional(
        "permission_ceiling",
        () => f.oneOf<PermissionMode>("permission_ceiling", PERMISSIONS, "default"),
      ),
      ...f.optional("allow_dangerous", () => f.bool("allow_dangerous")),
      ...f.optional("env_names", () => f.strings("env_names")),
      timeout_s: f.num("timeout_s"),
      permission_denials: f.objects<RunRecord["permission_denials"][number]>(
        "permission_denials",
        (d) => typeof d.tool === "string",
        "refused tool calls",
      ),
      tool_errors: f.objects<RunRecord["tool_errors"][number]>("tool_errors"),
      // A project in a repository: what the run changed (src/git); absent for other projects.
      ...f.optional("changes", () => f.objOrNull<NonNullable<RunRecord["changes"]>>("changes")),
      tool_calls: f.num("tool_calls"),
      files_touched: f.strings("files_touched"),
      started: f.str("started", runIdStart(id) ?? ""),
      ended: f.strOrNull("ended"),
      pid: f.num("pid"),
      host: f.str("host"),
      detached: f.bool("detached"),
      claude_pid: f.numOrNull("claude_pid"),
      claude_exit: f.objOrNull<NonNullable<RunRecord["claude_exit"]>>("claude_exit"),
      ended_processes: f.objects<RunRecord["ended_processes"][number]>(
        "ended_processes",
        (p) => typeof p.pid === "number",
        "processes",
      ),
      warnings: f.strings("warnings"),
      record_file: f.str("record_file"),
      result_file: f.str("result_file"),
      transcript_file: f.str("transcript_file"),
      stderr_file: f.str("stderr_file"),
    };
  });
}

/** `usage`: an object of token counts (numbers), or null. */
function usageOf(f: ReturnType<typeof fields>): Record<string, number> | null {
  const u = f.objOrNull<Record<string, unknown>>("usage");
  if (u === null) return null;
  for (const [k, v] of Object.entries(u)) {
    if (k.endsWith("_tokens") && (typeof v !== "number" || !Number.isFinite(v))) {
      throw new Corrupt(`its "usage.${k}" is not a number`);
    }
  }
  return u as Record<string, number>;
}

function sandboxKind(s: Record<string, unknown>): SandboxKind {
  if ((SANDBOX_KINDS as readonly unknown[]).includes(s.kind)) return s.kind as SandboxKind;
  throw new Corrupt(`its "sandbox" has no known kind (${shown(s.kind)})`);
}

/**
 * One line of runs.jsonl as readers may use it, or why it is corrupt.
 *
 * @example
 * ```ts
 * normalizeHistoryEntry({ run_id: "zzz", started: 7 }).ok; // false
 * ```
 */
export function normalizeHistoryEntry(value: unknown): Checked<HistoryEntry> {
  return check(value, (f) => {
    const tokens = f.objOrNull<Record<string, unknown>>("tokens");
    const count = (name: string) => {
      const n = tokens?.[name] ?? 0;
      if (typeof n !== "number" || !Number.isFinite(n)) {
        throw new Corrupt(`its "tokens.${name}" is not a number`);
      }
      return n;
    };
    return {
      run_id: runId(f),
      command: f.strOrNull("command"),
      status: status(f, HISTORY_STATUSES),
      exit_code: f.get<number | null>(
        "exit_code",
        null,
        (x) => x === null || isExitCode(x),
        "a documented exit code",
      ),
      started: f.strOrNull("started"),
      ended: f.strOrNull("ended"),
      duration_ms: f.numOrNull("duration_ms"),
      num_turns: f.numOrNull("num_turns"),
      cost_usd: f.numOrNull("cost_usd"),
      ...f.optional("reported_cost_usd", () => f.numOrNull("reported_cost_usd")),
      tokens: tokens
        ? {
          input_tokens: count("input_tokens"),
          output_tokens: count("output_tokens"),
          cache_creation_input_tokens: count("cache_creation_input_tokens"),
          cache_read_input_tokens: count("cache_read_input_tokens"),
        }
        : null,
      session_id: f.strOrNull("session_id"),
      model: f.strOrNull("model"),
      // Entries written before agents are Claude Code's.
      agent: f.strOrNull("agent") ?? "claude",
      detached: f.bool("detached"),
    };
  });
}

/** What a run that ended early leaves to resume: its recorded session, or nothing. */
export function resumable(run: object): string {
  const id = (run as { session_id?: unknown }).session_id;
  return typeof id === "string" && id !== ""
    ? "the session can be resumed"
    : "no session was recorded, so there is none to resume: start a new run";
}

/** Does a record say its run is going on ("running", or "starting": a detached run not yet begun)? */
export const isGoingOn = (status: string): boolean => status === "running" || status === "starting";

/**
 * How every reader shows a run whose record says it is going on: unchanged while a live dispatcher holds
 * the project's lock for it (the lock names the run, or the record's dispatcher holds it: apply runs
 * several under one lock), else "abandoned" with exit 1, since its dispatcher was killed before it could
 * finish the record; the session can be resumed. Never changes the file. `lock` is `inspectLock`'s answer.
 *
 * @example
 * ```ts
 * const shown = settleRecord(record, await inspectLock(paths.lock).catch(() => null));
 * ```
 */
export function settleRecord<T extends { run_id: string; status: string; error: string | null }>(
  run: T,
  lock: LockState | null,
): T {
  if (!isGoingOn(run.status)) return run;
  const pid = (run as { pid?: unknown }).pid;
  if (lock?.held) {
    // A lock file being written names no one yet: its holder may be this run.
    if (!lock.info || lock.info.run_id === run.run_id) return run;
    if (typeof pid === "number" && pid > 0 && lock.info.pid === pid) return run;
  }
  const who = typeof pid === "number" && pid > 0 ? `its dispatcher (pid ${pid})` : "its dispatcher";
  return {
    ...run,
    status: "abandoned",
    ...("exit_code" in run ? { exit_code: EXIT.specialistError } : {}),
    // Only a session the record holds can be resumed: a dispatcher killed before it recorded one
    // (within its first moments) leaves nothing to resume.
    error: `${who} ended without finishing the run; ${resumable(run)}`,
  };
}
