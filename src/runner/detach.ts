/**
 * Detached runs: the front end takes the project's lock, reserves the run (its id and files), writes the
 * request to a file in `.dispatch-logs/` and starts a supervisor, which is this same program re-executed in
 * its own session (so the caller's terminal, shell or process group going away does not reach it). The
 * supervisor adopts the lock by its token and runs exactly what a foreground run runs. The front end
 * returns at once with the run id and the files the run will write.
 *
 * The supervisor entry is `dispatch-cc __supervise <request file>`: a request names a `kind` ("dispatch"
 * here; "apply" in src/spec/detached_apply.ts) and a JSON payload, handled by the function registered for
 * that kind. A run may hold several projects (apply: one lock per slug); each is handed over the same way,
 * has its own stop signal (`cancel --slug S` stops only S) and is let go on its own.
 */
import { fileUrlPath, join } from "../paths.ts";
import { DENO_RUN_FLAGS } from "../run_flags.ts";
import { type Config, loadConfig } from "../config.ts";
import { DispatchError, NotFoundError, NotInstalledError } from "../errors.ts";
import { EXIT } from "../exit_codes.ts";
import type { Reporter } from "../report.ts";
import { cancelRequested, clearCancelRequest } from "../store/cancel.ts";
import { MAX_SMALL_FILE, readJsonObjectSafe } from "../store/files.ts";
import { acquireLock, adoptLock, type Lock } from "../store/lock.ts";
import { isAlive } from "../store/process_alive.ts";
import { projectExists, projectPaths } from "../store/project.ts";
import { fileFields, reserveRun, type RunFiles, runFiles, unreserveRun, writeRecord } from "../store/runs.ts";
import { blankRecord, type DispatchCommand, type DispatchRequest, type RunRecord } from "./dispatch.ts";
import { dispatchComplete } from "./on_done.ts";
import { sleep } from "./sleep.ts";
import { finishRecord } from "./cancel.ts";

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
  agent_bin: string;
  payload: unknown;
  /** Further projects the run holds, each by its lock's token and its reserved run (apply: one per slug). */
  also?: { slug: string; token: string; run_id: string }[];
}

/** One project a detached run holds: its reserved run's files and the commands that follow up on it. */
export interface HeldRun {
  run_id: string;
  slug: string;
  project_dir: string;
  record_file: string;
  transcript_file: string;
  result_file: string;
  stderr_file: string;
  /** Commands that follow up on the run. */
  next: { wait: string; logs: string; cancel: string; status: string };
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
  next: HeldRun["next"];
  /** The further projects the run holds (`also` of the options), in that order. */
  also?: HeldRun[];
}

/**
 * A project as the supervisor holds it: the adopted lock (pass it as `lock`), the reserved run (pass it
 * as `files` to the project's first `dispatch`), and a signal that stops this project only (a `cancel
 * --slug` of it, reason "cancelled") or with the whole run (SIGINT, a SIGTERM without a cancel request).
 */
export interface HeldProject {
  slug: string;
  lock: Lock;
  files: RunFiles;
  signal: AbortSignal;
  /**
   * Lets the project go once its work is done: a reserved run left unused is removed (or recorded
   * stopped, if the project was stopped before it began), the cancel request cleared, the lock released.
   * Idempotent; the supervisor lets go of every project still held when the handler returns.
   */
  release(): Promise<void>;
}

/**
 * What a supervisor's handler gets: every project it holds (`held`, the request's own first); `lock`,
 * `files` and `signal` are the first project's.
 */
export interface SupervisorDeps {
  config: Config;
  agentBin: string;
  reporter: Reporter;
  signal: AbortSignal;
  lock: Lock;
  files: RunFiles;
  held: HeldProject[];
}

/** Runs one kind of detached request to its end; returns the exit code the run would have had. */
export type DetachedHandler = (payload: unknown, deps: SupervisorDeps) => Promise<number>;

/** The built-in kind: one dispatch (run, resume, review). */
export const dispatchHandler: DetachedHandler = async (payload, deps) => {
  // The check and its rounds, the completion hook: as in the foreground (on_done.ts).
  const record = await dispatchComplete(payload as DispatchRequest, { ...deps, detached: true });
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
    return { cmd: Deno.execPath(), args: ["run", ...DENO_RUN_FLAGS, main.href] };
  }
  const config = fileUrlPath(new URL("../../deno.json", moduleUrl));
  return {
    cmd: Deno.execPath(),
    args: ["run", ...DENO_RUN_FLAGS, "--config", config, fileUrlPath(main)],
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
  return blankRecord(
    {
      slug: req.slug,
      project_dir: req.projectDir,
      command: req.command,
      status: "starting",
      session_mode: req.session === "new" ? "new" : "resume",
      permission: req.permission as RunRecord["permission"],
      timeout_s: req.timeoutS,
    },
    started,
    true,
  );
}

/** A project a detached run holds besides its own, with what its record shows until the run begins. */
export interface DetachTarget {
  slug: string;
  permission: string;
  timeoutS: number;
  session: "new" | "continue" | "resume";
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
  /** Further projects to hold for the run (apply: every other slug with steps to run). */
  also?: DetachTarget[];
  /** Wait for the lock instead of failing at once. */
  wait?: boolean;
  config: Config;
  agentBin: string;
  reporter: Reporter;
  signal: AbortSignal;
  /** The program to start (tests); default: this program again. */
  self?: { cmd: string; args: string[] };
}

/** A project the front end holds until the supervisor takes it over. */
interface Hold {
  target: DetachTarget;
  paths: ReturnType<typeof projectPaths>;
  lock: Lock;
  files?: RunFiles;
  record?: RunRecord;
}

function heldRun(h: Hold): HeldRun {
  const s = h.target.slug;
  const files = h.files!;
  return {
    ...fileFields(files),
    slug: s,
    project_dir: h.paths.dir,
    next: {
      wait: `dispatch-cc wait --slug ${s}`,
      logs: `dispatch-cc logs --slug ${s} --follow`,
      cancel: `dispatch-cc cancel --slug ${s}`,
      status: `dispatch-cc status --slug ${s}`,
    },
  };
}

/**
 * Starts a run in a detached supervisor and returns once it is on its way (well under a second). The
 * locks are taken here: a held lock fails at once (exit 5) as in the foreground, and nothing starts. The
 * run record of every held project exists (status "starting", the supervisor's pid) before this returns,
 * so `wait` and `cancel` find it. Reusable by any command that runs under locks (`apply`: see
 * src/spec/detached_apply.ts; register a handler for its kind in main.ts).
 */
export async function startDetached(o: DetachOptions): Promise<DetachedRun> {
  const paths = projectPaths(o.config.projectsDir, o.slug);
  if (o.command !== "run" && o.command !== "apply" && !(await projectExists(paths))) {
    throw new NotFoundError(
      `no project "${o.slug}" in ${o.config.projectsDir} (start one with: dispatch-cc run)`,
    );
  }
  const targets: DetachTarget[] = [
    { slug: o.slug, permission: o.permission, timeoutS: o.timeoutS, session: o.session },
    ...(o.also ?? []),
  ];
  const holds: Hold[] = [];
  let handedOver = false;
  try {
    // In slug order: two detached applies waiting (--wait) for the same projects never wait for each other.
    for (const target of [...targets].sort((a, b) => a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0)) {
      const p = projectPaths(o.config.projectsDir, target.slug);
      await Deno.mkdir(p.logsDir, { recursive: true });
      const lock = await acquireLock(p.lock, { command: o.command, run_id: "" }, {
        wait: o.wait,
        warn: o.reporter.warn,
        signal: o.signal,
      });
      holds.push({ target, paths: p, lock });
    }
    holds.sort((a, b) => targets.indexOf(a.target) - targets.indexOf(b.target));
    const started = new Date();
    for (const h of holds) {
      const record = startingRecord({
        command: o.command,
        slug: h.target.slug,
        projectDir: h.paths.dir,
        permission: h.target.permission,
        timeoutS: h.target.timeoutS,
        session: h.target.session,
      }, started);
      const files = await reserveRun(h.paths.logsDir, started, record);
      Object.assign(record, fileFields(files));
      await writeRecord(files.record, record);
      await h.lock.update({ run_id: files.runId, detached: true });
      Object.assign(h, { files, record });
    }
    const [first, ...rest] = holds;
    const request: DetachedRequest = {
      version: 1,
      kind: o.kind,
      run_id: first.files!.runId,
      slug: o.slug,
      command: o.command,
      token: first.lock.info.token,
      projects_dir: o.config.projectsDir,
      agent_bin: o.agentBin,
      payload: o.payload,
      ...(rest.length
        ? {
          also: rest.map((h) => ({ slug: h.target.slug, token: h.lock.info.token, run_id: h.files!.runId })),
        }
        : {}),
    };
    const reqFile = requestPath(first.files!);
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
      // Nothing ran: no trace is left (the locks are released below).
      await Deno.remove(reqFile).catch(() => {});
      for (const h of holds) await unreserveRun(h.paths.logsDir, h.files!);
      throw supervisorStartError(self.cmd, err);
    }
    child.unref();
    handedOver = true;
    // Record first, then the lock: the supervisor waits for its pid in the lock before it writes either.
    for (const h of holds) {
      await writeRecord(h.files!.record, { ...h.record!, pid: child.pid });
      await h.lock.update({ pid: child.pid });
    }
    const own = heldRun(first);
    return {
      version: 1,
      status: "started",
      run_id: own.run_id,
      slug: own.slug,
      command: o.command,
      project_dir: own.project_dir,
      supervisor_pid: child.pid,
      record_file: own.record_file,
      transcript_file: own.transcript_file,
      result_file: own.result_file,
      stderr_file: own.stderr_file,
      next: own.next,
      ...(rest.length ? { also: rest.map(heldRun) } : {}),
    };
  } finally {
    if (!handedOver) { for (const h of holds) await h.lock.release(); }
  }
}

/**
 * Why a supervisor did not start, as a one-line error: exit 127 when the program cannot be started at
 * all (missing, not executable, not allowed), else 1.
 */
export function supervisorStartError(cmd: string, err: unknown): DispatchError {
  const why = (err instanceof Error ? err.message : String(err)).split("\n")[0];
  const cannot = err instanceof Deno.errors.NotFound || err instanceof Deno.errors.PermissionDenied ||
    err instanceof Deno.errors.NotCapable;
  return cannot
    ? new NotInstalledError(
      `cannot start the detached run's supervisor ${cmd}: ${why}; run without --detach, or reinstall dispatch-cc`,
    )
    : new DispatchError(
      `the detached run's supervisor ${cmd} did not start: ${why}; nothing ran, retry or run without --detach`,
      EXIT.specialistError,
      "supervisor_failed",
    );
}

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
 * with the default action and leave a stale record), adopts the locks, runs the request's handler, and
 * releases the locks. Returns the run's exit code.
 */
export async function runSupervisor(
  reqFile: string,
  handlers: Record<string, DetachedHandler>,
): Promise<number> {
  const controller = new AbortController();
  const projects: { logsDir: string; token: string; stop: AbortController }[] = [];
  const onStop = () => controller.abort("interrupted");
  // `cancel --slug S` leaves a cancel request naming S's lock before its SIGTERM: only S stops. A
  // SIGTERM without one (a shutdown) stops everything.
  const onTerm = () => {
    const named = projects.filter((p) => !p.stop.signal.aborted && cancelRequested(p.logsDir, p.token));
    if (named.length === 0) controller.abort("interrupted");
    for (const p of named) p.stop.abort("cancelled");
  };
  const ignore = () => {};
  Deno.addSignalListener("SIGINT", onStop);
  Deno.addSignalListener("SIGTERM", onTerm);
  // No terminal to hang up; a HUP sent to everything the caller started must not end the run.
  Deno.addSignalListener("SIGHUP", ignore);

  const parsed = await readJsonObjectSafe(reqFile);
  await Deno.remove(reqFile).catch(() => {});
  if (!parsed.ok) return EXIT.internal;
  const req = parsed.value as unknown as DetachedRequest;
  const wanted = [{ slug: req.slug, token: req.token, run_id: req.run_id }, ...(req.also ?? [])].map(
    (w) => {
      const paths = projectPaths(req.projects_dir, w.slug);
      const stop = new AbortController();
      projects.push({ logsDir: paths.logsDir, token: w.token, stop });
      return { ...w, paths, files: runFiles(paths.logsDir, w.run_id), stop };
    },
  );
  for (const w of wanted) {
    controller.signal.addEventListener("abort", () => w.stop.abort(controller.signal.reason));
  }
  const { paths, files } = wanted[0];
  const reporter = fileReporter(join(paths.logsDir, `${req.run_id}-supervisor.log`));

  for (const w of wanted) await frontEndDone(w.paths.lock, w.token, controller.signal);
  const held: HeldProject[] = [];
  try {
    for (const w of wanted) {
      const lock = await adoptLock(w.paths.lock, w.token, { supervisor_pid: Deno.pid });
      held.push(heldProject(w.slug, lock, w.files, w.stop.signal, w.paths.logsDir));
    }
  } catch (err) {
    reporter.warn(`cannot take over the run: ${err instanceof Error ? err.message : err}`);
    for (const w of wanted) {
      await finishRecord(
        w.files.record,
        "crashed",
        1,
        "the supervisor could not take over the project's lock",
        w.paths.logsDir,
      );
    }
    for (const h of held) await h.release();
    return 1;
  }
  try {
    const handler = handlers[req.kind];
    if (!handler) throw new Error(`unknown detached request kind "${req.kind}"`);
    const base = loadConfig(Deno.env.toObject(), Deno.cwd());
    const config: Config = { ...base, projectsDir: req.projects_dir };
    return await handler(req.payload, {
      config,
      agentBin: req.agent_bin,
      reporter,
      signal: held[0].signal,
      lock: held[0].lock,
      files,
      held,
    });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    reporter.warn(`the detached run failed: ${err instanceof Error ? err.stack ?? msg : msg}`);
    const code = err instanceof DispatchError ? err.exitCode : EXIT.internal;
    const status = err instanceof NotInstalledError ? "not_installed" : "crashed";
    for (const w of wanted) await finishRecord(w.files.record, status, code, msg, w.paths.logsDir);
    return code;
  } finally {
    for (const h of held) await h.release();
  }
}

/**
 * Waits until the front end that started this supervisor has written its last: after starting us it
 * writes each record and then our pid into each lock, and none of that may land after our own writes
 * (it would put back "starting" and drop Claude Code's pid from the lock). So: until the lock names us,
 * for as long as the front end (the lock's holder until then) lives, however slow it is.
 */
async function frontEndDone(lockPath: string, token: string, signal: AbortSignal): Promise<void> {
  const t0 = Date.now();
  while (!signal.aborted) {
    const lock = await readJsonObjectSafe(lockPath, { maxBytes: MAX_SMALL_FILE });
    if (!lock.ok || lock.value.token !== token || lock.value.pid === Deno.pid) return;
    // Usually a few milliseconds; past a second, poll slower and stop if the front end died.
    const slow = Date.now() - t0 > 1000;
    if (slow && !isAlive(lock.value.pid as number)) return;
    await sleep(slow ? 200 : 20);
  }
}

/** A project the supervisor adopted; see HeldProject. */
function heldProject(
  slug: string,
  lock: Lock,
  files: RunFiles,
  signal: AbortSignal,
  logsDir: string,
): HeldProject {
  let released = false;
  return {
    slug,
    lock,
    files,
    signal,
    async release() {
      if (released) return;
      released = true;
      // A reserved run its handler never used (an apply whose steps were all done) leaves no trace; one
      // whose project was stopped before it began says so, for `wait`.
      const left = await readJsonObjectSafe(files.record);
      if (left.ok && left.value.status === "starting") {
        if (signal.aborted) {
          const cancelled = signal.reason === "cancelled";
          await finishRecord(
            files.record,
            cancelled ? "cancelled" : "interrupted",
            EXIT.interrupted,
            `${cancelled ? "cancelled" : "interrupted"} before it began`,
            logsDir,
          );
        } else {
          await unreserveRun(logsDir, files);
        }
      }
      await clearCancelRequest(logsDir, lock.info.token);
      await lock.release();
    },
  };
}
