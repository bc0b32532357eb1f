/**
 * Detached runs: the front end takes the project's lock, reserves the run (its id and files), writes the
 * request to a file in `.dispatch-logs/` and starts a supervisor, which is this same program re-executed in
 * its own session (so the caller's terminal, shell or process group going away does not reach it). The
 * supervisor adopts the lock by its token and runs exactly what a foreground run runs. The front end
 * returns at once with the run id and the files the run will write.
 *
 * The supervisor entry is `dispatch-cc __supervise <request file>`: a request names a `kind` ("dispatch"
 * here; `apply` can add its own) and a JSON payload, handled by the function registered for that kind.
 */
import { hostname } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Config, loadConfig } from "../config.ts";
import { DispatchError, NotFoundError, NotInstalledError } from "../errors.ts";
import { EXIT } from "../exit_codes.ts";
import type { Reporter } from "../report.ts";
import { writeJsonAtomic } from "../store/atomic.ts";
import { clearCancelRequest } from "../store/cancel.ts";
import { parseJsonObject } from "../store/files.ts";
import { acquireLock, adoptLock, type Lock } from "../store/lock.ts";
import { projectExists, projectPaths } from "../store/project.ts";
import { reserveRun, type RunFiles, runFiles, writeRecord } from "../store/runs.ts";
import { appendHistory, tokenCounts } from "../store/history.ts";
import { dispatch, type DispatchCommand, type DispatchRequest, type RunRecord } from "./dispatch.ts";

/** The hidden first argument that makes the program a supervisor. */
export const SUPERVISE_ARG = "__supervise";

/** What a detached run's front end hands to its supervisor (the `<run id>-request.json` file). */
export interface DetachedRequest {
  version: 1;
  kind: string;
  run_id: string;
  slug: string;
  command: DispatchCommand;
  /** The lock's token: the supervisor adopts only this lock. */
  token: string;
  projects_dir: string;
  claude_bin: string;
  payload: unknown;
}

/** What the front end returns: enough to wait for, follow or cancel the run. */
export interface DetachedRun {
  version: 1;
  status: "started";
  run_id: string;
  slug: string;
  command: DispatchCommand;
  project_dir: string;
  supervisor_pid: number;
  record_file: string;
  transcript_file: string;
  result_file: string;
  stderr_file: string;
  /** Commands that follow up on the run. */
  next: { wait: string; logs: string; cancel: string; status: string };
}

/**
 * What a supervisor's handler gets: the run's reserved files (pass them as `files` to the first
 * `dispatch`; left unused, they are removed), the adopted lock (pass it as `lock`), the stop signal.
 */
export interface SupervisorDeps {
  config: Config;
  claudeBin: string;
  reporter: Reporter;
  signal: AbortSignal;
  lock: Lock;
  files: RunFiles;
}

/** Runs one kind of detached request to its end; returns the exit code the run would have had. */
export type DetachedHandler = (payload: unknown, deps: SupervisorDeps) => Promise<number>;

/** The built-in kind: one dispatch (run, resume, review). */
export const dispatchHandler: DetachedHandler = async (payload, deps) => {
  const record = await dispatch(payload as DispatchRequest, { ...deps, detached: true });
  return record.exit_code;
};

/**
 * How to start this program again: a compiled binary is its own executable; from source it is deno with
 * the declared permission set on src/main.ts. `Deno.build.standalone` says which.
 *
 * @example
 * ```ts
 * const { cmd, args } = selfCommand();
 * new Deno.Command(cmd, { args: [...args, "--version"] });
 * ```
 */
export function selfCommand(
  standalone = Deno.build.standalone,
  moduleUrl = import.meta.url,
): { cmd: string; args: string[] } {
  if (standalone) return { cmd: Deno.execPath(), args: [] };
  const main = new URL("../main.ts", moduleUrl);
  if (main.protocol !== "file:") {
    return { cmd: Deno.execPath(), args: ["run", "-P=dispatch", "--no-prompt", "--quiet", main.href] };
  }
  const config = fileURLToPath(new URL("../../deno.json", moduleUrl));
  return {
    cmd: Deno.execPath(),
    args: ["run", "-P=dispatch", "--no-prompt", "--quiet", "--config", config, fileURLToPath(main)],
  };
}

function requestPath(files: RunFiles): string {
  return files.record.replace(/-run\.json$/, "-request.json");
}

/** The record a detached run shows until its supervisor takes over. */
function startingRecord(
  req: {
    command: DispatchCommand;
    slug: string;
    projectDir: string;
    permission: string;
    timeoutS: number;
    session: string;
  },
  started: Date,
): RunRecord {
  return {
    version: 1,
    run_id: "",
    slug: req.slug,
    project_dir: req.projectDir,
    command: req.command,
    status: "starting",
    exit_code: 0,
    error: null,
    api_error_status: null,
    session_id: null,
    session_mode: req.session === "new" ? "new" : "resume",
    last_assistant_uuid: null,
    result: null,
    num_turns: null,
    duration_ms: null,
    cost_usd: null,
    usage: null,
    stop_reason: null,
    model: null,
    permission: req.permission as RunRecord["permission"],
    timeout_s: req.timeoutS,
    permission_denials: [],
    tool_errors: [],
    tool_calls: 0,
    files_touched: [],
    started: started.toISOString(),
    ended: null,
    pid: Deno.pid,
    host: hostname(),
    detached: true,
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

export interface DetachOptions {
  kind: string;
  command: DispatchCommand;
  slug: string;
  payload: unknown;
  /** For the record shown before the supervisor starts. */
  permission: string;
  timeoutS: number;
  session: "new" | "continue" | "resume";
  /** Wait for the lock instead of failing at once. */
  wait?: boolean;
  config: Config;
  claudeBin: string;
  reporter: Reporter;
  signal: AbortSignal;
  /** The program to start (tests); default: this program again. */
  self?: { cmd: string; args: string[] };
}

/**
 * Starts a run in a detached supervisor and returns once it is on its way (well under a second). The
 * lock is taken here: a held lock fails at once (exit 5) as in the foreground. The run record exists
 * (status "starting", the supervisor's pid) before this returns, so `wait` and `cancel` find it.
 * Reusable by any command that runs under one lock (`apply`: register a handler for its kind in main.ts).
 */
export async function startDetached(o: DetachOptions): Promise<DetachedRun> {
  const paths = projectPaths(o.config.projectsDir, o.slug);
  if (o.command !== "run" && o.command !== "apply" && !(await projectExists(paths))) {
    throw new NotFoundError(
      `no project "${o.slug}" in ${o.config.projectsDir} (start one with: dispatch-cc run)`,
    );
  }
  await Deno.mkdir(paths.logsDir, { recursive: true });
  const lock = await acquireLock(paths.lock, { command: o.command, run_id: "" }, {
    wait: o.wait,
    warn: o.reporter.warn,
    signal: o.signal,
  });
  let handedOver = false;
  try {
    const started = new Date();
    const record = startingRecord({
      command: o.command,
      slug: o.slug,
      projectDir: paths.dir,
      permission: o.permission,
      timeoutS: o.timeoutS,
      session: o.session,
    }, started);
    const files = await reserveRun(paths.logsDir, started, record);
    Object.assign(record, {
      run_id: files.runId,
      record_file: files.record,
      result_file: files.result,
      transcript_file: files.transcript,
      stderr_file: files.stderr,
    });
    await writeRecord(files.record, record);
    await lock.update({ run_id: files.runId, detached: true });
    const request: DetachedRequest = {
      version: 1,
      kind: o.kind,
      run_id: files.runId,
      slug: o.slug,
      command: o.command,
      token: lock.info.token,
      projects_dir: o.config.projectsDir,
      claude_bin: o.claudeBin,
      payload: o.payload,
    };
    const reqFile = requestPath(files);
    // The request holds the prompt: readable by its owner only.
    await Deno.writeTextFile(reqFile, JSON.stringify(request), { mode: 0o600 });

    const self = o.self ?? selfCommand();
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(self.cmd, {
        args: [...self.args, SUPERVISE_ARG, reqFile],
        // Own session and process group, no terminal, no inherited pipes: a caller reading our stdout
        // through a pipe must not wait for the whole run.
        detached: true,
        stdin: "null",
        stdout: "null",
        stderr: "null",
        cwd: Deno.cwd(),
      }).spawn();
    } catch (err) {
      await Deno.remove(reqFile).catch(() => {});
      const msg = `could not start the supervisor (${self.cmd}): ${err instanceof Error ? err.message : err}`;
      await writeRecord(files.record, {
        ...record,
        status: "crashed",
        exit_code: 1,
        error: msg,
        ended: new Date().toISOString(),
      });
      throw new Error(msg);
    }
    child.unref();
    handedOver = true;
    // Record first, then the lock: the supervisor waits for its pid in the lock before it writes either.
    await writeRecord(files.record, { ...record, pid: child.pid });
    await lock.update({ pid: child.pid });
    const s = o.slug;
    return {
      version: 1,
      status: "started",
      run_id: files.runId,
      slug: s,
      command: o.command,
      project_dir: paths.dir,
      supervisor_pid: child.pid,
      record_file: files.record,
      transcript_file: files.transcript,
      result_file: files.result,
      stderr_file: files.stderr,
      next: {
        wait: `dispatch-cc wait --slug ${s}`,
        logs: `dispatch-cc logs --slug ${s} --follow`,
        cancel: `dispatch-cc cancel --slug ${s}`,
        status: `dispatch-cc status --slug ${s}`,
      },
    };
  } finally {
    if (!handedOver) await lock.release();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A reporter for a process without a terminal: messages go to `<run id>-supervisor.log`. */
function fileReporter(path: string): Reporter {
  const write = (line: string) => {
    try {
      Deno.writeTextFileSync(path, `${new Date().toISOString()} ${line}\n`, { append: true });
    } catch { /* nowhere to tell */ }
  };
  return { warn: (m) => write(`dispatch-cc: ${m}`), progress: (m) => write(m) };
}

/**
 * The supervisor: installs its signal handling before anything else (a TERM before that would kill it
 * with the default action and leave a stale record), adopts the lock, runs the request's handler, and
 * releases the lock. Returns the run's exit code.
 */
export async function runSupervisor(
  reqFile: string,
  handlers: Record<string, DetachedHandler>,
): Promise<number> {
  const controller = new AbortController();
  const onStop = () => controller.abort("interrupted");
  const ignore = () => {};
  Deno.addSignalListener("SIGINT", onStop);
  Deno.addSignalListener("SIGTERM", onStop);
  // No terminal to hang up; a HUP sent to everything the caller started must not end the run.
  Deno.addSignalListener("SIGHUP", ignore);

  const text = await Deno.readTextFile(reqFile).catch(() => null);
  await Deno.remove(reqFile).catch(() => {});
  const parsed = text ? parseJsonObject(text) : null;
  if (!parsed?.ok) return 70;
  const req = parsed.value as unknown as DetachedRequest;
  const paths = projectPaths(req.projects_dir, req.slug);
  const files = runFiles(paths.logsDir, req.run_id);
  const reporter = fileReporter(join(paths.logsDir, `${req.run_id}-supervisor.log`));

  // The front end writes our pid into the lock right after starting us; wait for it so that its
  // writes never land after ours.
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline) {
    const lock = parseJsonObject(await Deno.readTextFile(paths.lock).catch(() => ""));
    if (!lock.ok || lock.value.token !== req.token || lock.value.pid === Deno.pid) break;
    await sleep(20);
  }
  let lock: Lock;
  try {
    lock = await adoptLock(paths.lock, req.token, { supervisor_pid: Deno.pid });
  } catch (err) {
    reporter.warn(`cannot take over the run: ${err instanceof Error ? err.message : err}`);
    await finishRecord(
      files.record,
      "crashed",
      1,
      "the supervisor could not take over the project's lock",
      paths.logsDir,
    );
    return 1;
  }
  try {
    const handler = handlers[req.kind];
    if (!handler) throw new Error(`unknown detached request kind "${req.kind}"`);
    const base = loadConfig(Deno.env.toObject(), Deno.cwd());
    const config: Config = { ...base, projectsDir: req.projects_dir };
    return await handler(req.payload, {
      config,
      claudeBin: req.claude_bin,
      reporter,
      signal: controller.signal,
      lock,
      files,
    });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    reporter.warn(`the detached run failed: ${err instanceof Error ? err.stack ?? msg : msg}`);
    const code = err instanceof DispatchError ? err.exitCode : EXIT.internal;
    const status = err instanceof NotInstalledError ? "not_installed" : "crashed";
    await finishRecord(files.record, status, code, msg, paths.logsDir);
    return code;
  } finally {
    // A handler that never used the reserved run (an apply whose steps were all done) leaves no trace of it.
    const left = parseJsonObject(await Deno.readTextFile(files.record).catch(() => ""));
    if (left.ok && left.value.status === "starting") await Deno.remove(files.record).catch(() => {});
    await clearCancelRequest(paths.logsDir, lock.info.token);
    await lock.release();
  }
}

/**
 * Ends a run record that its dispatcher could not finish (a supervisor that failed, a dispatcher that
 * `cancel` had to kill), unless it already has a final status. Adds the run to the history index.
 */
export async function finishRecord(
  recordFile: string,
  status: RunRecord["status"],
  exitCode: number,
  error: string,
  logsDir: string,
  extra: Partial<RunRecord> = {},
): Promise<RunRecord | null> {
  const r = parseJsonObject(await Deno.readTextFile(recordFile).catch(() => ""));
  if (!r.ok) return null;
  const rec = r.value as unknown as RunRecord;
  if (rec.status !== "running" && rec.status !== "starting") return rec;
  const ended = new Date();
  const done: RunRecord = {
    ...rec,
    ...extra,
    status,
    exit_code: exitCode,
    error,
    ended: ended.toISOString(),
    duration_ms: rec.started ? ended.getTime() - new Date(rec.started).getTime() : null,
  };
  await writeJsonAtomic(recordFile, done);
  await appendHistory(logsDir, {
    run_id: done.run_id,
    command: done.command,
    status: done.status,
    exit_code: done.exit_code,
    started: done.started,
    ended: done.ended,
    duration_ms: done.duration_ms,
    num_turns: done.num_turns,
    cost_usd: done.cost_usd,
    tokens: tokenCounts(done.usage),
    session_id: done.session_id,
    model: done.model,
    detached: done.detached ?? false,
  }).catch(() => {});
  return done;
}
