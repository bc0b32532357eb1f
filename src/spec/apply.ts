/**
 * The core of `dispatch-cc apply`: run the steps of validated tasks through the same runner as run,
 * resume and review, holding each project's lock for the whole of its tasks, recording each step in the
 * apply state before and after it runs, and skipping what an earlier apply finished.
 *
 * @module
 */
import type { AgentName } from "../agents/agent.ts";
import type { Config } from "../config.ts";
import { DispatchError, LockHeldError } from "../errors.ts";
import { EXIT } from "../exit_codes.ts";
import type { Reporter } from "../report.ts";
import { mapLimit } from "../map_limit.ts";
import type { DispatchDeps, DispatchRequest } from "../runner/request.ts";
import type { RunRecord, VerifySummary } from "../store/run_record.ts";
import { type TokenCounts, tokenCounts } from "../store/history.ts";
import { acquireLock, type Lock } from "../store/lock.ts";
import type { RunFiles } from "../store/runs.ts";
import { projectPaths } from "../store/project.ts";
import {
  applyStatePath,
  continuation,
  firstToRun,
  readApplyState,
  recordStep,
  type StepKind,
  type StepState,
} from "./state.ts";
import type { LoadedTask } from "./load.ts";
import { registerHeld } from "../runner/stop_registry.ts";
import type { PlannedStep } from "./steps.ts";

/** The tasks of one slug, in file order, and their steps. */
export interface SlugPlan {
  slug: string;
  steps: PlannedStep[];
}

/** A step in the summary. `skipped`: finished by an earlier apply (status is what it recorded). */
export interface StepOutcome extends StepReport {
  step: number;
  kind: StepKind;
  status: StepState["status"] | "not_run";
  exit_code: number | null;
  session_id: string | null;
  run_id: string | null;
  skipped?: true;
  error?: string | null;
}

/** A step's report from its run (steps that ran in this apply). */
export interface StepReport {
  result?: string | null;
  /** Set when `--result-limit` cut the result. */
  result_truncated?: boolean;
  result_chars?: number;
  cost_usd?: number | null;
  tokens?: TokenCounts | null;
  num_turns?: number | null;
  structured_output?: unknown;
  verify?: VerifySummary;
}

export interface TaskOutcome {
  slug: string;
  file: string;
  steps: StepOutcome[];
}

export interface ApplyOptions {
  restart: boolean;
  /** How many slugs run at once. */
  parallel: number;
  /** Wait for a project's lock instead of reporting it held. */
  wait: boolean;
}

/**
 * A slug whose lock was taken before the apply began (a detached apply: its front end took the locks and
 * its supervisor adopted them). Its first step uses the reserved run `files`; `signal` stops this slug
 * only (`cancel --slug`); `release` lets the slug go when its steps are done.
 */
export interface HeldSlug {
  lock: Lock;
  files: RunFiles;
  signal: AbortSignal;
  release(): Promise<void>;
}

export interface ApplyDeps {
  config: Config;
  reporter: Reporter;
  signal: AbortSignal;
  /** The binary of a step's agent (absent: Claude Code), looked up only when a step has to run. */
  agentBin: (agent?: AgentName) => Promise<string>;
  dispatch: (req: DispatchRequest, deps: DispatchDeps) => Promise<RunRecord>;
  graceMs?: number;
  /** Slugs already locked for this apply, by slug; the others take their lock when they start. */
  held?: ReadonlyMap<string, HeldSlug>;
  /** The apply runs in a detached supervisor (recorded in each run record). */
  detached?: boolean;
}

/**
 * How bad an outcome is, worst first; the apply exits with the exit code of its worst step:
 * interrupted/cancelled > timeout > error/crashed/not_installed > lock_held > blocked > max_turns/budget
 * > success. Skipped and not-run steps do not count.
 */
export const SEVERITY: Readonly<Record<string, number>> = {
  interrupted: 8,
  cancelled: 8,
  tampered: 7,
  timeout: 7,
  error: 6,
  crashed: 6,
  verify_failed: 6,
  not_installed: 6,
  lock_held: 5,
  blocked: 4,
  max_turns: 3,
  budget_exceeded: 3,
  success: 0,
};

/** The exit code of the worst step that ran (0 when nothing ran or everything succeeded). */
export function worstExitCode(tasks: readonly TaskOutcome[]): number {
  let worst: StepOutcome | null = null;
  for (const step of tasks.flatMap((t) => t.steps)) {
    if (step.skipped || step.status === "not_run" || step.exit_code === null) continue;
    if (!worst || (SEVERITY[step.status] ?? 6) > (SEVERITY[worst.status] ?? 6)) worst = step;
  }
  return worst?.exit_code ?? EXIT.success;
}

function outcomeOf(s: StepState, skipped: boolean): StepOutcome {
  return {
    step: s.step,
    kind: s.kind,
    status: s.status,
    exit_code: s.exit_code,
    session_id: s.session_id,
    run_id: s.run_id,
    ...(skipped ? { skipped: true as const } : {}),
    ...(s.error ? { error: s.error } : {}),
  };
}

const notRun = (p: PlannedStep): StepOutcome => ({
  step: p.position,
  kind: p.kind,
  status: "not_run",
  exit_code: null,
  session_id: null,
  run_id: null,
});

/**
 * Applies every slug's steps (slugs `parallel` at a time, the tasks of one slug in order) and returns a
 * summary per task, in the order the tasks were given.
 */
export async function applyPlans(
  plans: readonly SlugPlan[],
  opts: ApplyOptions,
  deps: ApplyDeps,
): Promise<{ tasks: TaskOutcome[]; exit_code: number }> {
  const results = new Map<PlannedStep, StepOutcome>();
  await mapLimit(plans, opts.parallel, async (plan) => {
    for (const [step, outcome] of await applySlug(plan, opts, deps)) results.set(step, outcome);
  });
  const tasks: TaskOutcome[] = [];
  for (const plan of plans) {
    const byTask = new Map<LoadedTask, TaskOutcome>();
    for (const step of plan.steps) {
      let outcome = byTask.get(step.task);
      if (!outcome) {
        byTask.set(step.task, outcome = { slug: plan.slug, file: step.task.file, steps: [] });
        tasks.push(outcome);
      }
      outcome.steps.push(results.get(step) ?? notRun(step));
    }
  }
  const interrupted = deps.signal.aborted ||
    [...deps.held?.values() ?? []].some((h) => h.signal.aborted);
  const code = worstExitCode(tasks);
  return { tasks, exit_code: interrupted && code === EXIT.success ? EXIT.interrupted : code };
}

/** One slug: skip what is done, take the lock (unless held already), run the rest, record each step. */
async function applySlug(
  plan: SlugPlan,
  opts: ApplyOptions,
  deps: ApplyDeps,
): Promise<Map<PlannedStep, StepOutcome>> {
  const held = deps.held?.get(plan.slug);
  try {
    return await applySlugLocked(plan, opts, held ? { ...deps, signal: held.signal } : deps, held);
  } finally {
    await held?.release();
  }
}

/** The recorded steps of a slug and the index of the first step that has to run (`firstToRun`). */
async function stepsToRun(
  plan: SlugPlan,
  opts: ApplyOptions,
  statePath: string,
): Promise<{ recorded: StepState[]; start: number; problem: string | null }> {
  const read = await readApplyState(statePath, plan.slug);
  const recorded = read.state.steps;
  return {
    recorded,
    start: firstToRun(plan.steps.map((s) => s.hash), recorded, opts.restart),
    problem: read.problem,
  };
}

async function applySlugLocked(
  plan: SlugPlan,
  opts: ApplyOptions,
  deps: ApplyDeps,
  held: HeldSlug | undefined,
): Promise<Map<PlannedStep, StepOutcome>> {
  const { config, reporter } = deps;
  const out = new Map<PlannedStep, StepOutcome>();
  const paths = projectPaths(config.projectsDir, plan.slug);
  const statePath = applyStatePath(paths.logsDir);
  // Read before the lock only to skip taking it when every step is done: until the lock is ours another
  // apply may be running these very steps, so what to run is decided again once it is.
  const early = await stepsToRun(plan, opts, statePath);
  if (early.problem) reporter.warn(`${plan.slug}: ${early.problem}`);
  let { recorded, start } = early;
  const skip = () => {
    out.clear();
    for (const step of plan.steps.slice(0, start)) {
      out.set(step, outcomeOf(recorded.find((s) => s.step === step.position)!, true));
    }
  };
  skip();
  const allDone = () => reporter.progress(`${plan.slug}: every step is done (unchanged); nothing to run`);
  if (start === plan.steps.length) {
    allDone();
    return out;
  }
  if (deps.signal.aborted) return out;

  await Deno.mkdir(paths.logsDir, { recursive: true });
  let lock: Lock;
  try {
    lock = held?.lock ?? await acquireLock(paths.lock, { command: "apply", run_id: "" }, {
      wait: opts.wait,
      warn: reporter.warn,
      signal: deps.signal,
    });
  } catch (err) {
    if (!(err instanceof LockHeldError)) throw err;
    const first = plan.steps[start];
    const interrupted = deps.signal.aborted;
    out.set(first, {
      ...notRun(first),
      status: interrupted ? "interrupted" : "lock_held",
      exit_code: interrupted ? EXIT.interrupted : EXIT.lockHeld,
      error: err.message,
    });
    reporter.warn(`${plan.slug}: ${err.message}`);
    return out;
  }
  if (!held) {
    // A held lock was taken before the first read; a lock taken just now may follow another apply that
    // finished some of these steps while this one waited (--wait).
    const now = await stepsToRun(plan, opts, statePath);
    if (now.problem && now.problem !== early.problem) reporter.warn(`${plan.slug}: ${now.problem}`);
    ({ recorded, start } = now);
    skip();
    if (start === plan.steps.length) {
      allDone();
      await lock.release();
      return out;
    }
  }

  // This slug's own stop: `cancel --slug` of one slug of a foreground apply stops that slug only (a
  // detached apply's supervisor has one per slug already: `held.signal`).
  const own = new AbortController();
  const outer = deps.signal;
  const follow = () => own.abort(outer.reason);
  if (outer.aborted) follow();
  outer.addEventListener("abort", follow);
  const unregister = held ? () => {} : registerHeld({
    logsDir: paths.logsDir,
    token: lock.info.token,
    stop: () => own.abort("cancelled"),
  });
  deps = { ...deps, signal: own.signal };
  try {
    // The state as this apply sees it: recorded entries of skipped steps, then what it runs.
    const known: StepState[] = recorded.filter((s) => s.step <= start);
    // After a failure only `when: always` steps run (the task has failed; those steps report or clean up).
    let failed = false;
    for (const step of plan.steps.slice(start)) {
      if (deps.signal.aborted) break;
      if (failed && step.when !== "always") {
        out.set(step, notRun(step));
        continue;
      }
      const first = step === plan.steps[start];
      const files = first ? held?.files : undefined;
      const { entry, record } = await runStep(step, known, plan, { lock, files }, deps, statePath, first);
      known.splice(0, known.length, ...known.filter((s) => s.step !== entry.step), entry);
      out.set(step, { ...outcomeOf(entry, false), ...(record ? stepReport(record) : {}) });
      if (entry.status !== "success") failed = true;
    }
  } finally {
    unregister();
    outer.removeEventListener("abort", follow);
    if (!held) await lock.release();
  }
  return out;
}

/** Runs one step: decide its session, record it running, dispatch, record the outcome. */
async function runStep(
  step: PlannedStep,
  known: readonly StepState[],
  plan: SlugPlan,
  run: { lock: Lock; files?: RunFiles },
  deps: ApplyDeps,
  statePath: string,
  firstRun: boolean,
): Promise<{ entry: StepState; record: RunRecord | null }> {
  const { reporter } = deps;
  let session: { mode: "new" | "resume"; id: string };
  let resumeSessionAt: string | undefined;
  if (step.kind === "follow_up") {
    const cont = continuation(known, step.taskFirst, step.position);
    if (cont) {
      session = { mode: "resume", id: cont.sessionId };
      resumeSessionAt = cont.resumeAt ?? undefined;
    } else {
      reporter.warn(`${plan.slug} step ${step.position}: no session of this task to continue; starting one`);
      session = { mode: "new", id: crypto.randomUUID() };
    }
  } else {
    session = { mode: "new", id: crypto.randomUUID() };
  }
  const label = `${plan.slug} step ${step.position}/${plan.steps.length} (${step.kind.replace("_", "-")})`;
  reporter.progress(
    `${label}: ${session.mode === "new" ? "new session" : `session ${session.id}`}` +
      (resumeSessionAt ? ` from ${resumeSessionAt}` : ""),
  );
  const base: StepState = {
    step: step.position,
    kind: step.kind,
    hash: step.hash,
    status: "running",
    exit_code: null,
    session_id: session.id,
    run_id: null,
    result_file: null,
    last_assistant_uuid: null,
    file: step.task.file,
    started: new Date().toISOString(),
    ended: null,
  };
  // The first step this apply runs drops entries of steps the task no longer has.
  await recordStep(statePath, plan.slug, base, firstRun ? plan.steps.length : undefined);
  let entry: StepState;
  let record: RunRecord | null = null;
  try {
    record = await deps.dispatch({ ...step.request, session, resumeSessionAt }, {
      config: deps.config,
      agentBin: await deps.agentBin(step.request.agent),
      reporter,
      signal: deps.signal,
      lock: run.lock,
      files: run.files,
      detached: deps.detached,
      graceMs: deps.graceMs,
    });
    entry = {
      ...base,
      status: record.status === "starting" || record.status === "running" ? "crashed" : record.status,
      exit_code: record.exit_code,
      session_id: record.session_id ?? base.session_id,
      run_id: record.run_id,
      result_file: record.result_file,
      last_assistant_uuid: record.last_assistant_uuid,
      ended: record.ended ?? new Date().toISOString(),
      error: record.error,
    };
  } catch (err) {
    if (!(err instanceof DispatchError)) throw err;
    entry = {
      ...base,
      status: err.exitCode === EXIT.interrupted ? "interrupted" : "error",
      exit_code: err.exitCode,
      ended: new Date().toISOString(),
      error: err.message,
    };
  }
  await recordStep(statePath, plan.slug, entry);
  reporter.progress(`${label}: ${entry.status}${entry.error ? ` (${entry.error})` : ""}`);
  return { entry, record };
}

/**
 * What a step's run reports beside its status (issue 16 part 4), so that an assistant need not ask
 * `status` per step: the result text (cut by `apply --result-limit` when rendered), cost, tokens, and the
 * structured output and check where the step asked for them.
 */
export function stepReport(record: RunRecord): StepReport {
  return {
    result: record.result,
    cost_usd: record.cost_usd,
    tokens: tokenCounts(record.usage),
    num_turns: record.num_turns,
    ...(record.structured_output !== undefined ? { structured_output: record.structured_output } : {}),
    ...(record.verify ? { verify: record.verify } : {}),
  };
}
