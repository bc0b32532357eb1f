/**
 * One dispatch: take the project's lock, prepare the project, plan the launch (`plan.ts`), run the CLI
 * under supervision while its events are written to the transcript and folded (`fold.ts`), classify the
 * outcome (`classify.ts`) and write the run's files (`finalize.ts`). Agent-neutral: what is specific to a
 * CLI comes from its agent. The same code serves run, resume, review and each step of apply.
 */
import type { AgentInvocation, AgentName, RunContext } from "../agents/agent.ts";
import { describeToolUse } from "../agents/events.ts";
import { environmentError, InterruptedError, LockHeldError, NotFoundError } from "../errors.ts";
import { NO_SANDBOX } from "../sandbox/choice.ts";
import type { OutsideWrite } from "../sandbox/bwrap.ts";
import { prepareLaunch } from "../sandbox/launch.ts";
import { checkNotSymlink, checkOwnState } from "../sandbox/project_folder.ts";
import { READ_ONLY_ERROR } from "../sandbox/refusals.ts";
import { acquireLock, type Lock } from "../store/lock.ts";
import {
  isSessionId,
  prepareProject,
  projectExists,
  type ProjectPaths,
  projectPaths,
  readProjectMeta,
  readSessionId,
  touchProject,
  writeSessionId,
} from "../store/project.ts";
import { cancelRequested, clearCancelRequest } from "../store/cancel.ts";
import { indexProject } from "../store/index_db.ts";
import { blankRecord, type RunRecord } from "../store/run_record.ts";
import { fileFields, reserveRun, type RunFiles, writeRecord } from "../store/runs.ts";
import { classify } from "./classify.ts";
import { finalizeRun, recordCrash } from "./finalize.ts";
import { emptyFold, foldLine } from "./fold.ts";
import { checkStructuredOutput } from "./output_schema.ts";
import { agentOf, checkRequest, invocationFor, MARKER, planRun } from "./plan.ts";
import { projectAgentOf } from "./agent_choice.ts";
import type { DispatchDeps, DispatchRequest } from "./request.ts";
import { supervise } from "./supervise.ts";
import { beginRepoRun } from "../git/run.ts";

export { blankRecord, MARKER, type RunRecord };
export type { DispatchCommand, DispatchDeps, DispatchRequest } from "./request.ts";

/** Resolves which session a run continues, with a warning when it has to start afresh. */
async function chooseSession(
  req: DispatchRequest,
  paths: ProjectPaths,
  env: Record<string, string>,
  warn: (m: string) => void,
  previousAgent: AgentName | null,
): Promise<AgentInvocation["session"]> {
  const agent = agentOf(req);
  const fresh = (): AgentInvocation["session"] => ({
    mode: "new",
    id: agent.assignsSessionId ? crypto.randomUUID() : null,
  });
  // The project's work session belongs to another agent: this one cannot continue it.
  if (
    previousAgent !== null && previousAgent !== agent.name && req.role !== "review" &&
    req.command !== "review"
  ) {
    warn(
      `project ${req.slug} was worked on by ${agentOf({ agent: previousAgent }).displayName}; ` +
        `starting a new ${agent.displayName} session (its earlier session stays in the project's history)`,
    );
    if (req.session.mode !== "new") return fresh();
  }
  if (req.session.mode === "new") {
    const id = req.session.id;
    return id !== undefined && isSessionId(id) && agent.assignsSessionId ? { mode: "new", id } : fresh();
  }
  const wanted = req.session.mode === "resume" ? req.session.id : null;
  // Ids come back from files a run could rewrite (apply state): never pass a non-UUID to the CLI.
  if (wanted !== null && !isSessionId(wanted)) {
    warn(`${JSON.stringify(wanted.slice(0, 80))} is not a session id; starting a new session`);
    return fresh();
  }
  let id = wanted;
  if (id === null) {
    const saved = await readSessionId(paths.lastSessionId);
    if (!saved.id) {
      warn(`no session to resume (last-session-id ${saved.problem}); starting a new session`);
      return fresh();
    }
    id = saved.id;
  }
  if (!(await agent.sessionExists(env, id, paths.dir))) {
    warn(
      `session ${id} is ${
        wanted ? "unknown" : "no longer known"
      } to ${agent.displayName}; starting a new session`,
    );
    return fresh();
  }
  return { mode: "resume", id };
}

/**
 * Runs one dispatch to its end and returns its record. Refusals before the run (lock held, project
 * missing) throw and change nothing on disk.
 */
export async function dispatch(req: DispatchRequest, deps: DispatchDeps): Promise<RunRecord> {
  const now = deps.now ?? (() => new Date());
  return await withRunLock(
    req,
    deps,
    (d, paths, lock, shared) => runLocked(req, d, paths, lock, now, shared),
  );
}

/**
 * The checks before a run (launch plan, project exists), then `body` under the project's lock (taken
 * unless `deps.lock` holds it already), with a signal that says "cancelled" for a `cancel` of this lock.
 * Several dispatches can share one lock this way (verification rounds: `verify.ts`).
 */
export async function withRunLock<T>(
  req: DispatchRequest,
  deps: DispatchDeps,
  body: (deps: DispatchDeps, paths: ProjectPaths, lock: Lock, sharedState: string | null) => Promise<T>,
): Promise<T> {
  const { config, reporter } = deps;
  const paths = projectPaths(config.projectsDir, req.slug);
  // The ceiling, root + bypassPermissions, the sandbox's programs, a symlinked project or a new one whose
  // state folder another project uses: refused before anything is written.
  await checkRequest(req, deps, paths);
  const exists = await projectExists(paths);
  // An older pair of projects sharing the agent's state folder: said on every run.
  const agent = agentOf(req);
  const sharedState = agent.stateFolderOf
    ? checkOwnState(config.projectsDir, req.slug, exists, {
      displayName: agent.displayName,
      folderOf: agent.stateFolderOf,
    })
    : null;
  if (sharedState) reporter.warn(sharedState);
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
    return await body({ ...deps, signal: inner.signal }, paths, lock, sharedState);
  } finally {
    deps.signal.removeEventListener("abort", onAbort);
    if (!deps.lock) {
      await clearCancelRequest(paths.logsDir, lock.info.token);
      await lock.release();
    }
    await indexProject(config.projectsDir, paths.slug); // the next list need not read the project again
  }
}

async function runLocked(
  req: DispatchRequest,
  deps: DispatchDeps,
  paths: ProjectPaths,
  lock: Lock,
  now: () => Date,
  earlyWarning: string | null = null,
): Promise<RunRecord> {
  const { config, reporter } = deps;
  const agent = agentOf(req);
  const warnings: string[] = earlyWarning ? [earlyWarning] : [];
  const warn = (m: string) => {
    warnings.push(m);
    reporter.warn(m);
  };
  const started = now();
  // Whose the project's work session is (project.json's `agent`; none: Claude Code's), read before it changes.
  const previousAgent = projectAgentOf((await readProjectMeta(paths)).meta);
  const work = req.command !== "review" && req.role !== "review";
  // A review (possibly by another agent) leaves the project's agent as it is.
  const agentField = work ? { agent: agent.name } : {};
  if (req.command === "run" || req.command === "apply") {
    await prepareProject(paths, { description: req.description, prompt: req.prompt, now: started });
    await touchProject(paths, started, agentField);
  } else {
    await touchProject(paths, started, agentField);
  }
  const session = await chooseSession(req, paths, config.env, warn, previousAgent);
  for (const w of agent.unsupported?.(invocationFor(req, session, paths)) ?? []) warn(w);

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
    agent: agent.name,
    session_id: session.mode === "resume" ? session.id : null,
    model: req.model ?? null,
    permission_ceiling: config.ceiling,
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
    // The session is dispatch-cc's: the one it assigned, or (for an agent that picks its own) the first one
    // the stream reported. It is saved once and never replaced by a later line.
    let expected: string | null = session.id;
    let sessionSaved = false;
    const saveSession = async (id: string) => {
      if (sessionSaved || !isSessionId(id)) return;
      sessionSaved = true;
      record.session_id = id;
      await writeSessionId(sessionFile, id);
      await writeRecord(files.record, { ...record });
    };

    // Files opened for appending must not be links (a tool of an unsandboxed run can plant one).
    for (const f of [files.transcript, files.stderr]) checkNotSymlink(f);
    const transcript = await Deno.open(files.transcript, { write: true, create: true, append: true });
    const enc = new TextEncoder();
    // What the agent may need to know of this run (Codex: the thread's token total before a resume).
    const runContext: RunContext = {
      env: config.env,
      projectDir: paths.dir,
      permission: req.permission,
      session,
      osSandbox: req.sandbox?.kind === "bwrap",
    };
    await agent.beforeRun?.(runContext);
    const parse = agent.parser(runContext);
    let fold = emptyFold();
    // Successful tool results that name a read-only refusal (`echo x > /usr/y; echo saved`).
    const readOnlyResults: { tool_use_id: string; text: string; is_error: boolean }[] = [];
    const t0 = Date.now();
    const elapsed = () =>
      `${((Date.now() - t0) / 1000).toFixed(1)}s${fold.turns ? ` turn ${fold.turns}` : ""}`;

    const onLine = async (line: string) => {
      if (line.trim() === "") return;
      await transcript.write(enc.encode(line + "\n"));
      const events = parse(line);
      fold = foldLine(fold, events);
      for (const ev of events) {
        if (ev.kind === "session") {
          if (expected === null) expected = ev.session_id;
          if (ev.session_id === expected) await saveSession(ev.session_id);
          if (ev.model && record.model === null) record.model = ev.model;
          reporter.progress(
            `[${elapsed()}] session ${ev.session_id} started (${ev.model ?? "default model"})`,
          );
        } else if (ev.kind === "retry") {
          const delay = ev.delay_ms !== undefined ? ` in ${(ev.delay_ms / 1000).toFixed(1)}s` : "";
          reporter.warn(`API error ${ev.message}; retry ${ev.attempt ?? "?"}/${ev.max ?? "?"}${delay}`);
        } else if (ev.kind === "denial") {
          reporter.progress(`[${elapsed()}] denied: ${describeToolUse(ev.denial.tool, ev.denial.input)}`);
        } else if (ev.kind === "tool_use") {
          reporter.progress(`[${elapsed()}] ${describeToolUse(ev.name, ev.input)}`);
        } else if (ev.kind === "tool_result" && !ev.is_error && READ_ONLY_ERROR.test(ev.text)) {
          if (readOnlyResults.length < 50) {
            readOnlyResults.push({ tool_use_id: ev.id, text: ev.text.slice(0, 2000), is_error: false });
          }
        }
      }
    };

    const marker = `${files.runId}-${crypto.randomUUID()}`;
    // A project in a repository: its content before the run, and the sandbox binds its git needs.
    const repoRun = await beginRepoRun(paths, { sandboxed: (req.sandbox ?? NO_SANDBOX).kind === "bwrap" });
    const plan = await planRun(req, deps, paths, session, marker, repoRun?.launch);
    record.env_names = plan.envNames;
    const prepared = await prepareLaunch(plan);
    let outside: OutsideWrite[] = [];
    reporter.progress(
      `[${elapsed()}] ${req.command} ${req.slug}: starting ${agent.displayName} (${session.mode} session${
        session.id ? ` ${session.id}` : ""
      })`,
    );
    let supervised;
    try {
      supervised = await supervise({
        command: plan.command,
        args: plan.args,
        cwd: plan.cwd,
        env: plan.env,
        stdin: plan.stdin ?? "",
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
      outside = prepared.writesOutside();
    } finally {
      transcript.close();
      await prepared.cleanup();
    }
    // The CLI and its tools are gone (supervise swept them): the lock stops naming them, so that a later
    // step under the same lock (apply) or a `cancel` never acts on pids that may be reused.
    await lock.update({ claude_pid: undefined, marker: undefined });

    // Ended before the CLI reported its session (under a second): the pre-assigned session may still exist
    // on disk, and then it can be resumed.
    if (!sessionSaved && expected !== null && await agent.sessionExists(config.env, expected, paths.dir)) {
      await saveSession(expected);
    }

    // Refusals only the agent's own files show (Codex's read-only sandbox): denials like those in the stream.
    try {
      for (const ev of await agent.afterRun?.(runContext, record.session_id ?? expected) ?? []) {
        if (ev.kind === "denial") fold.denials.push(ev.denial);
      }
    } catch (err) {
      warn(`could not read ${agent.displayName}'s session log: ${err instanceof Error ? err.message : err}`);
    }

    // An API error whose text lacks its status (Gemini's 429): the CLI's exit code may carry it.
    const failed = fold.results[0];
    if (failed && !failed.ok && failed.api_error_status === null && agent.apiStatusFromExit) {
      failed.api_error_status = agent.apiStatusFromExit(supervised.exitCode);
    }

    const outcome = classify({
      fold,
      ended: supervised.ended,
      exitCode: supervised.exitCode,
      signal: supervised.signal,
      stderrTail: supervised.stderrTail,
      session: expected,
      agentName: agent.displayName,
      timeoutS: req.timeoutS,
      spawnError: supervised.spawnError,
    });
    Object.assign(record, await checkStructuredOutput(outcome, fold, req.outputSchema));
    if (repoRun) {
      record.changes = await repoRun.finish().catch((err) => {
        warn(`could not list the run's changes: ${err instanceof Error ? err.message : err}`);
        return null;
      });
    }
    return await finalizeRun({
      record,
      outcome,
      fold,
      supervised,
      sandbox: req.sandbox ?? NO_SANDBOX,
      readOnlyResults,
      outside,
      paths,
      sessionFile,
      files,
      started,
      ended: now(),
      warn,
      reporter,
      elapsed,
    });
  } catch (err) {
    await recordCrash(files.record, record, err);
    throw environmentError(err) ?? err;
  }
}
