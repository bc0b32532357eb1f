/**
 * One dispatch: take the project's lock, prepare the project, run Claude Code under supervision, write
 * the run's files (record, transcript, result, stderr), save the session id as soon as it is known, and
 * classify the outcome. The same code serves run, resume, review and each step of apply.
 */
import type { Config } from "../config.ts";
import { environmentError, InterruptedError, LockHeldError, NotFoundError } from "../errors.ts";
import { EXIT } from "../exit_codes.ts";
import type { Reporter } from "../report.ts";
import { NO_SANDBOX, type SandboxChoice } from "../sandbox/choice.ts";
import { checkLaunch, type LaunchInput, planLaunch, prepareLaunch } from "../sandbox/launch.ts";
import type { PermissionMode } from "../sandbox/permission.ts";
import { sandboxRefusals } from "../sandbox/refusals.ts";
import { writeTextAtomic } from "../store/atomic.ts";
import { acquireLock, type Lock } from "../store/lock.ts";
import {
  isSessionId,
  prepareProject,
  projectExists,
  type ProjectPaths,
  projectPaths,
  readSessionId,
  touchProject,
  writeSessionId,
} from "../store/project.ts";
import { cancelRequested, clearCancelRequest } from "../store/cancel.ts";
import { appendHistory, historyEntryOf } from "../store/history.ts";
import { fileFields, reserveRun, type RunFiles, writeRecord } from "../store/runs.ts";
import { classify, type Outcome, type RunStatus } from "./classify.ts";
import {
  buildClaudeArgs,
  type ClaudeInvocation,
  type Denial,
  describeToolUse,
  parseEventLine,
  sessionExists,
  toolResults,
  toolUses,
} from "./claude_code.ts";
import { supervise } from "./supervise.ts";
import type { SweptProcess } from "./sweep.ts";

export type DispatchCommand = "run" | "resume" | "review" | "apply";

/** What to dispatch, resolved from flags or a task file. */
export interface DispatchRequest {
  command: DispatchCommand;
  slug: string;
  prompt: string;
  description?: string;
  permission: PermissionMode;
  timeoutS: number;
  model?: string;
  maxTurns?: number;
  maxBudgetUsd?: number;
  allowedTools?: string[];
  disallowedTools?: string[];
  systemPrompt?: string;
  /** Names of extra environment variables to pass to Claude Code. */
  envNames?: string[];
  /** new: a fresh session; continue: the work session (resume); an explicit id: exactly that one. */
  session: { mode: "new"; id?: string } | { mode: "continue" } | { mode: "resume"; id: string };
  /** With a resumed session: continue from this assistant entry (apply leaves a failed step out). */
  resumeSessionAt?: string;
  /** A review keeps its session in last-review-session-id (review, and apply's review step). */
  role?: "work" | "review";
  /** Wait for the lock instead of failing at once. */
  wait?: boolean;
  /** The OS sandbox (absent: none). apply maps a task file's `sandbox: {enabled, network}` here. */
  sandbox?: SandboxChoice;
  /** `--allow-dangerous` on the command line: a permission above DISPATCH_MAX_PERMISSION is allowed. */
  allowDangerous?: boolean;
  /** Where `permission` came from, for the ceiling's message (default "the permission"). */
  permissionSource?: string;
}

export interface DispatchDeps {
  config: Config;
  claudeBin: string;
  reporter: Reporter;
  /** Aborted with reason "interrupted" (SIGINT/SIGTERM) or "cancelled". */
  signal: AbortSignal;
  now?: () => Date;
  /** Time between TERM and KILL when ending a run. */
  graceMs?: number;
  /** A lock already held by the caller (apply holds one for a whole task; a detached run's supervisor). */
  lock?: Lock;
  /** Run files reserved before the run (a detached run returns its id before the supervisor starts). */
  files?: RunFiles;
  /** The run goes on in a detached supervisor (recorded in the run record). */
  detached?: boolean;
}

/** The JSON shape of a run (`run --json`, the `-run.json` record): versioned, documented in the README. */
export interface RunRecord {
  version: 1;
  run_id: string;
  slug: string;
  project_dir: string;
  command: DispatchCommand;
  /** "starting" only in the record a detached run writes before its supervisor takes over. */
  status: RunStatus | "starting";
  exit_code: number;
  error: string | null;
  api_error_status: number | null;
  session_id: string | null;
  /** "new" or "resume": whether this run continued an earlier session. */
  session_mode: "new" | "resume";
  /** The uuid of the last `assistant` event: where a later `--resume-session-at` can continue from. */
  last_assistant_uuid: string | null;
  result: string | null;
  num_turns: number | null;
  duration_ms: number | null;
  cost_usd: number | null;
  usage: Record<string, number> | null;
  stop_reason: string | null;
  model: string | null;
  permission: PermissionMode;
  // The sandbox layers of the run (absent in older records and in a detached run's "starting" record).
  /** The permission ceiling in effect (DISPATCH_MAX_PERMISSION) and whether --allow-dangerous lifted it. */
  permission_ceiling?: PermissionMode;
  allow_dangerous?: boolean;
  /** The OS sandbox of the run. */
  sandbox?: SandboxChoice;
  /** Names of the variables Claude Code got (never the values). */
  env_names?: string[];
  timeout_s: number;
  /** Refused tool calls: by the permission mode, or (`source: "sandbox"`) by the OS sandbox. */
  permission_denials: Denial[];
  tool_errors: { tool_use_id: string; text: string }[];
  tool_calls: number;
  files_touched: string[];
  started: string;
  ended: string | null;
  /** The dispatcher: the foreground process, or a detached run's supervisor. */
  pid: number;
  host: string;
  detached: boolean;
  claude_pid: number | null;
  claude_exit: { code: number | null; signal: string | null } | null;
  /** Processes of the run that were still alive when it ended, and how dispatch-cc ended them. */
  ended_processes: SweptProcess[];
  warnings: string[];
  record_file: string;
  result_file: string;
  transcript_file: string;
  stderr_file: string;
}

/**
 * A run record before anything is known of the run: every field at its empty value. The runner fills it
 * in as the run goes; a detached run shows it (status "starting") until its supervisor takes over.
 */
export function blankRecord(
  fields: Pick<
    RunRecord,
    "slug" | "project_dir" | "command" | "status" | "session_mode" | "permission" | "timeout_s"
  >,
  started: Date,
  detached: boolean,
): RunRecord {
  return {
    version: 1,
    run_id: "",
    ...fields,
    exit_code: 0,
    error: null,
    api_error_status: null,
    session_id: null,
    last_assistant_uuid: null,
    result: null,
    num_turns: null,
    duration_ms: null,
    cost_usd: null,
    usage: null,
    stop_reason: null,
    model: null,
    permission_denials: [],
    tool_errors: [],
    tool_calls: 0,
    files_touched: [],
    started: started.toISOString(),
    ended: null,
    pid: Deno.pid,
    host: Deno.hostname(),
    detached,
    claude_pid: null,
    claude_exit: null,
    ended_processes: [],
    warnings: [],
    record_file: "",
    result_file: "",
    transcript_file: "",
    stderr_file: "",
  };
}

/** The Claude Code invocation of a request once its session is chosen (the run and --dry-run share it). */
export function invocationFor(req: DispatchRequest, session: ClaudeInvocation["session"]): ClaudeInvocation {
  return {
    session,
    permission: req.permission,
    model: req.model,
    maxTurns: req.maxTurns,
    maxBudgetUsd: req.maxBudgetUsd,
    allowedTools: req.allowedTools,
    disallowedTools: req.disallowedTools,
    appendSystemPrompt: req.systemPrompt,
    resumeSessionAt: session.mode === "resume" && req.resumeSessionAt && isSessionId(req.resumeSessionAt)
      ? req.resumeSessionAt
      : undefined,
  };
}

const EDIT_TOOLS = new Set(["Write", "Edit", "MultiEdit", "NotebookEdit"]);
const MAX_TOOL_ERRORS = 50;
/** The environment variable that marks every process of a run (the sweep, and `cancel`, find them by it). */
export const MARKER = "DISPATCH_CC_RUN";

/** Resolves which session a run continues, with a warning when it has to start afresh. */
async function chooseSession(
  req: DispatchRequest,
  paths: ProjectPaths,
  env: Record<string, string>,
  warn: (m: string) => void,
): Promise<ClaudeInvocation["session"]> {
  if (req.session.mode === "new") {
    const id = req.session.id;
    return { mode: "new", id: id !== undefined && isSessionId(id) ? id : crypto.randomUUID() };
  }
  if (req.session.mode === "resume") {
    // Ids come back from files a run could rewrite (apply state): never pass a non-UUID to Claude Code.
    if (!isSessionId(req.session.id)) {
      warn(`${JSON.stringify(req.session.id.slice(0, 80))} is not a session id; starting a new session`);
      return { mode: "new", id: crypto.randomUUID() };
    }
    if (await sessionExists(env, req.session.id)) return { mode: "resume", id: req.session.id };
    warn(`session ${req.session.id} is unknown to Claude Code; starting a new session`);
    return { mode: "new", id: crypto.randomUUID() };
  }
  const saved = await readSessionId(paths.lastSessionId);
  if (!saved.id) {
    warn(`no session to resume (last-session-id ${saved.problem}); starting a new session`);
    return { mode: "new", id: crypto.randomUUID() };
  }
  if (!(await sessionExists(env, saved.id))) {
    warn(`session ${saved.id} is no longer known to Claude Code; starting a new session`);
    return { mode: "new", id: crypto.randomUUID() };
  }
  return { mode: "resume", id: saved.id };
}

/**
 * Runs one dispatch to its end and returns its record. Refusals before the run (lock held, project
 * missing) throw and change nothing on disk.
 */
export async function dispatch(req: DispatchRequest, deps: DispatchDeps): Promise<RunRecord> {
  const now = deps.now ?? (() => new Date());
  const { config, reporter } = deps;
  const paths = projectPaths(config.projectsDir, req.slug);
  // The ceiling, root + bypassPermissions, the sandbox's programs: refused before anything is written.
  await checkLaunch(launchInput(req, deps, paths, [], {}));
  const exists = await projectExists(paths);
  if (req.command !== "run" && req.command !== "apply" && !exists) {
    throw new NotFoundError(
      `no project "${req.slug}" in ${config.projectsDir} (start one with: dispatch-cc run)`,
    );
  }
  if (!deps.lock && deps.signal.aborted) {
    throw new InterruptedError("interrupted before the run started; nothing was changed");
  }
  await Deno.mkdir(paths.logsDir, { recursive: true });
  let lock = deps.lock;
  if (!lock) {
    try {
      lock = await acquireLock(paths.lock, { command: req.command, run_id: "" }, {
        wait: req.wait,
        warn: reporter.warn,
        signal: deps.signal,
      });
    } catch (err) {
      if (err instanceof LockHeldError && deps.signal.aborted) {
        throw new InterruptedError("interrupted while waiting for the lock");
      }
      throw err;
    }
  }
  // SIGTERM from `cancel` comes with a cancel request naming this lock: the run is then "cancelled".
  const held = lock;
  const inner = new AbortController();
  const onAbort = () => {
    const cancelled = deps.signal.reason === "cancelled" || cancelRequested(paths.logsDir, held.info.token);
    inner.abort(cancelled ? "cancelled" : deps.signal.reason ?? "interrupted");
  };
  if (deps.signal.aborted) onAbort();
  deps.signal.addEventListener("abort", onAbort);
  try {
    return await runLocked(req, { ...deps, signal: inner.signal }, paths, lock, now);
  } finally {
    deps.signal.removeEventListener("abort", onAbort);
    if (!deps.lock) {
      await clearCancelRequest(paths.logsDir, lock.info.token);
      await lock.release();
    }
  }
}

async function runLocked(
  req: DispatchRequest,
  deps: DispatchDeps,
  paths: ProjectPaths,
  lock: Lock,
  now: () => Date,
): Promise<RunRecord> {
  const { config, reporter } = deps;
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    reporter.warn(m);
  };
  const started = now();
  if (req.command === "run" || req.command === "apply") {
    await prepareProject(paths, { description: req.description, prompt: req.prompt, now: started });
  } else {
    await touchProject(paths, started);
  }
  const session = await chooseSession(req, paths, config.env, warn);
  const args = buildClaudeArgs(invocationFor(req, session));

  const record: RunRecord = {
    ...blankRecord(
      {
        slug: req.slug,
        project_dir: paths.dir,
        command: req.command,
        status: "running",
        session_mode: session.mode,
        permission: req.permission,
        timeout_s: req.timeoutS,
      },
      started,
      deps.detached ?? false,
    ),
    session_id: session.mode === "resume" ? session.id : null,
    model: req.model ?? null,
    permission_ceiling: config.maxPermission,
    allow_dangerous: req.allowDangerous ?? false,
    sandbox: req.sandbox ?? NO_SANDBOX,
    env_names: [],
    warnings,
  };
  const files: RunFiles = deps.files ?? await reserveRun(paths.logsDir, started, record);
  Object.assign(record, fileFields(files));
  await writeRecord(files.record, { ...record });
  await lock.update({ run_id: files.runId });

  try {
    const sessionFile = req.command === "review" || req.role === "review"
      ? paths.lastReviewSessionId
      : paths.lastSessionId;
    const saveSession = async (id: string) => {
      if (!isSessionId(id) || record.session_id === id && sessionSaved) return;
      record.session_id = id;
      sessionSaved = true;
      await writeSessionId(sessionFile, id);
      await writeRecord(files.record, { ...record });
    };
    let sessionSaved = false;

    const transcript = await Deno.open(files.transcript, { write: true, create: true, append: true });
    const enc = new TextEncoder();
    let resultEvent: Record<string, unknown> | null = null;
    let resultLine: string | null = null;
    let garbageLines = 0;
    let sawEvents = false;
    let turns = 0;
    let lastMessageId: unknown = null;
    const touched = new Set<string>();
    // Edit-tool calls waiting for their result: a file counts as written only when the call succeeded.
    const pendingEdits = new Map<string, string>();
    const uses = new Map<string, { name: string; input: unknown }>();
    const t0 = Date.now();
    const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)}s${turns ? ` turn ${turns}` : ""}`;

    const onLine = async (line: string) => {
      if (line.trim() === "") return;
      await transcript.write(enc.encode(line + "\n"));
      const ev = parseEventLine(line);
      if (!ev) {
        garbageLines++;
        return;
      }
      sawEvents = true;
      if (ev.type === "system" && ev.subtype === "init") {
        if (typeof ev.model === "string") record.model = ev.model;
        if (typeof ev.session_id === "string") await saveSession(ev.session_id);
        reporter.progress(
          `[${elapsed()}] session ${record.session_id} started (${record.model ?? "default model"})`,
        );
      } else if (ev.type === "system" && ev.subtype === "api_retry") {
        const attempt = ev.attempt ?? "?";
        const max = ev.max_retries ?? "?";
        const delay = typeof ev.retry_delay_ms === "number"
          ? ` in ${(ev.retry_delay_ms / 1000).toFixed(1)}s`
          : "";
        const status = ev.error_status ?? ev.error ?? "";
        reporter.warn(`API error ${status}; retry ${attempt}/${max}${delay}`);
      } else if (ev.type === "system" && ev.subtype === "permission_denied") {
        reporter.progress(
          `[${elapsed()}] denied: ${describeToolUse(String(ev.tool_name ?? "tool"), ev.tool_input)}`,
        );
      } else if (ev.type === "assistant") {
        if (typeof ev.uuid === "string") record.last_assistant_uuid = ev.uuid;
        // One model response comes as one assistant event per content block, all with the same message id.
        const id = (ev.message as { id?: unknown } | undefined)?.id;
        if (id === undefined || id !== lastMessageId) turns++;
        lastMessageId = id;
        for (const use of toolUses(ev)) {
          record.tool_calls++;
          uses.set(use.id, { name: use.name, input: use.input });
          const input = use.input as Record<string, unknown> | undefined;
          if (EDIT_TOOLS.has(use.name) && typeof input?.file_path === "string") {
            pendingEdits.set(use.id, input.file_path);
          }
          reporter.progress(`[${elapsed()}] ${describeToolUse(use.name, use.input)}`);
        }
      } else if (ev.type === "user") {
        for (const res of toolResults(ev)) {
          const file = pendingEdits.get(res.tool_use_id);
          pendingEdits.delete(res.tool_use_id);
          if (!res.is_error && file) touched.add(file);
          if (res.is_error && record.tool_errors.length < MAX_TOOL_ERRORS) {
            record.tool_errors.push({ tool_use_id: res.tool_use_id, text: res.text.slice(0, 500) });
          }
        }
      } else if (ev.type === "result") {
        resultEvent = ev;
        resultLine = line;
        if (typeof ev.session_id === "string") await saveSession(ev.session_id);
      }
    };

    const marker = `${files.runId}-${crypto.randomUUID()}`;
    const launch = await planLaunch(launchInput(req, deps, paths, args, { [MARKER]: marker }));
    await prepareLaunch(launch);
    record.env_names = launch.envNames;
    reporter.progress(
      `[${elapsed()}] ${req.command} ${req.slug}: starting Claude Code (${session.mode} session ${session.id})`,
    );
    let supervised;
    try {
      supervised = await supervise({
        command: launch.command,
        args: launch.args,
        cwd: launch.cwd,
        env: launch.env,
        stdin: req.prompt,
        timeoutMs: req.timeoutS * 1000,
        graceMs: deps.graceMs ?? 5000,
        marker: { name: MARKER, value: marker },
        stderrPath: files.stderr,
        signal: deps.signal,
        onSpawn: async (pid) => {
          record.claude_pid = pid;
          await lock.update({ claude_pid: pid, marker });
          await writeRecord(files.record, { ...record });
        },
        onLine,
      });
    } finally {
      transcript.close();
    }
    // Claude Code and its tools are gone (supervise swept them): the lock stops naming them, so that a
    // later step under the same lock (apply) or a `cancel` never acts on pids that may be reused.
    await lock.update({ claude_pid: undefined, marker: undefined });

    // Killed before Claude Code reported its session (under a second): the pre-assigned session may still
    // exist on disk, and then it can be resumed.
    if (!sessionSaved && session.mode === "new" && await sessionExists(config.env, session.id)) {
      await saveSession(session.id);
    }

    const outcome: Outcome = classify({
      result: resultEvent,
      ended: supervised.ended,
      exitCode: supervised.exitCode,
      signal: supervised.signal,
      garbageLines,
      sawEvents,
      stderrTail: supervised.stderrTail,
      timeoutS: req.timeoutS,
      spawnError: supervised.spawnError,
    });
    // Writes the OS sandbox refused end as tool errors in a "successful" run: they are denials too.
    const refused = sandboxRefusals((req.sandbox ?? NO_SANDBOX).kind, record.tool_errors, uses);
    if (refused.length > 0) {
      outcome.permission_denials = [...outcome.permission_denials, ...refused];
      if (outcome.status === "success") {
        const tools = [...new Set(refused.map((d) => d.tool))].join(", ");
        Object.assign(outcome, {
          status: "blocked",
          exit_code: EXIT.blocked,
          error: `${refused.length} tool call(s) refused by the sandbox (${tools}): ${refused[0].reason}`,
        });
      }
    }
    const ended = now();
    const r = resultEvent as Record<string, unknown> | null;
    Object.assign(record, {
      status: outcome.status,
      exit_code: outcome.exit_code,
      error: outcome.error,
      api_error_status: outcome.api_error_status,
      permission_denials: outcome.permission_denials,
      result: r && typeof r.result === "string" ? r.result : null,
      num_turns: r && typeof r.num_turns === "number" ? r.num_turns : turns,
      duration_ms: ended.getTime() - started.getTime(),
      cost_usd: r && typeof r.total_cost_usd === "number" ? r.total_cost_usd : null,
      usage: r && r.usage && typeof r.usage === "object" ? r.usage : null,
      stop_reason: r && typeof r.stop_reason === "string" ? r.stop_reason : null,
      files_touched: [...touched],
      ended: ended.toISOString(),
      claude_exit: supervised.pid === null ? null : { code: supervised.exitCode, signal: supervised.signal },
      ended_processes: supervised.swept,
    });
    if (supervised.swept.length > 0) {
      warn(
        `ended ${supervised.swept.length} process(es) the run left behind: ` +
          supervised.swept.map((p) => `${p.pid} ${p.command.slice(0, 60)}`).join("; "),
      );
    }

    // The result file holds the CLI's final result object exactly as printed; when it printed none (timeout,
    // crash), a result object of the same shape says what happened, so older readers see an error too.
    const resultText = resultLine ?? JSON.stringify({
      type: "result",
      subtype: "error_during_execution",
      is_error: true,
      result: `dispatch-cc: ${outcome.error}`,
      session_id: record.session_id,
      num_turns: record.num_turns,
      duration_ms: record.duration_ms,
      permission_denials: [],
      dispatch_status: outcome.status,
    });
    await writeTextAtomic(files.result, resultText + "\n");
    await writeTextAtomic(
      paths.lastResult,
      (record.result ?? `dispatch-cc: ${record.status}: ${outcome.error}`) + "\n",
    );
    await writeRecord(files.record, { ...record });
    await touchProject(paths, ended);
    try {
      await appendHistory(paths.logsDir, historyEntryOf(record));
    } catch (err) {
      reporter.warn(
        `could not add the run to the history index: ${err instanceof Error ? err.message : err}`,
      );
    }
    reporter.progress(
      `[${elapsed()}] ${record.status}: ${record.num_turns ?? "-"} turns, ${record.tool_calls} tool calls` +
        (record.cost_usd !== null ? `, $${record.cost_usd.toFixed(4)}` : ""),
    );
    return record;
  } catch (err) {
    // Whatever broke after the run was recorded as running (disk full, sandbox preparation): the record
    // says so instead of staying "running" forever.
    const refused = environmentError(err);
    const message = refused?.message ?? (err instanceof Error ? err.message : String(err));
    Object.assign(record, {
      status: "crashed",
      exit_code: refused ? EXIT.environment : EXIT.internal,
      error: `dispatch-cc failed: ${message}`,
    });
    record.ended = new Date().toISOString();
    await writeRecord(files.record, { ...record }).catch(() => {});
    await appendHistory(paths.logsDir, historyEntryOf(record)).catch(() => {});
    throw refused ?? err;
  }
}

/** The launch of a request, for checking (before anything is written) and for planning. */
export function launchInput(
  req: DispatchRequest,
  deps: Pick<DispatchDeps, "config" | "claudeBin">,
  paths: ProjectPaths,
  claudeArgs: string[],
  set: Record<string, string>,
): LaunchInput {
  return {
    claudeBin: deps.claudeBin,
    claudeArgs,
    projectDir: paths.dir,
    logsDir: paths.logsDir,
    parentEnv: deps.config.env,
    envNames: req.envNames,
    set,
    permission: req.permission,
    permissionSource: req.permissionSource,
    ceiling: deps.config.maxPermission,
    allowDangerous: req.allowDangerous,
    sandbox: req.sandbox,
    uid: Deno.build.os === "windows" ? null : Deno.uid(),
  };
}
