/**
 * `apply --detach`: one detached supervisor runs the whole apply, exactly as the foreground would
 * (`--parallel`, `--restart`, `--set` and flags are already in the plans). The front end takes the lock of
 * every slug with steps to run (a held lock fails at once, exit 5, and nothing starts) and hands them over
 * (src/runner/detach.ts). Each slug's lock is held for all of its steps and released when they are done,
 * so `wait --slug S` returns after S's last step; `cancel --slug S` stops S only.
 *
 * @module
 */
import { getAgent } from "../agents/registry.ts";
import { findAgentBin } from "../runner/find_agent.ts";
import type { Config } from "../config.ts";
import type { Reporter } from "../report.ts";
import { dispatchComplete } from "../runner/on_done.ts";
import { type DetachedHandler, type DetachTarget, type HeldRun, startDetached } from "../runner/detach.ts";
import { projectPaths } from "../store/project.ts";
import { type ApplyOptions, applyPlans, type SlugPlan } from "./apply.ts";
import type { LoadedTask } from "./load.ts";
import { applyStatePath, firstToRun, readApplyState } from "./state.ts";

/** The request's payload: the validated plans and the options, as the front end computed them. */
export interface DetachedApplyPayload {
  plans: SlugPlan[];
  opts: ApplyOptions;
}

/** A slug the detached apply runs: its project's reserved run, and which of its steps will run. */
export interface DetachedSlug extends HeldRun {
  /** The first step to run (earlier ones are done) and how many steps the slug has. */
  first_step: number;
  steps: number;
}

/** What `apply --detach` prints. */
export interface DetachedApply {
  version: 1;
  status: "started";
  command: "apply";
  supervisor_pid: number;
  parallel: number;
  slugs: DetachedSlug[];
  /** Slugs whose steps were all done already: nothing runs for them. */
  done: string[];
  /** Commands that follow up on every slug (one per slug, separated by "; "). */
  next: HeldRun["next"];
}

/**
 * Starts the apply in a detached supervisor. Returns null, starting nothing, when every step of every
 * slug is done already (the caller then applies in the foreground, which only reports them).
 */
export async function startDetachedApply(
  plans: readonly SlugPlan[],
  opts: ApplyOptions,
  deps: { config: Config; reporter: Reporter; signal: AbortSignal; agentBin: string },
): Promise<DetachedApply | null> {
  const targets: (DetachTarget & { first: number; total: number })[] = [];
  const done: string[] = [];
  for (const plan of plans) {
    const logsDir = projectPaths(deps.config.projectsDir, plan.slug).logsDir;
    const { state } = await readApplyState(applyStatePath(logsDir), plan.slug);
    const start = firstToRun(plan.steps.map((s) => s.hash), state.steps, opts.restart);
    if (start === plan.steps.length) {
      done.push(plan.slug);
      continue;
    }
    const step = plan.steps[start];
    targets.push({
      slug: plan.slug,
      permission: step.request.permission,
      timeoutS: step.request.timeoutS,
      session: step.kind === "follow_up" ? "resume" : "new",
      first: step.position,
      total: plan.steps.length,
    });
  }
  if (targets.length === 0) return null;
  const [first, ...also] = targets;
  const payload: DetachedApplyPayload = { plans: [...plans], opts };
  const started = await startDetached({
    kind: "apply",
    command: "apply",
    slug: first.slug,
    payload,
    permission: first.permission,
    timeoutS: first.timeoutS,
    session: first.session,
    also,
    wait: opts.wait,
    config: deps.config,
    agentBin: deps.agentBin,
    reporter: deps.reporter,
    signal: deps.signal,
  });
  const runs: HeldRun[] = [started, ...(started.also ?? [])];
  const slugs = runs.map((r, i): DetachedSlug => ({
    slug: r.slug,
    project_dir: r.project_dir,
    run_id: r.run_id,
    first_step: targets[i].first,
    steps: targets[i].total,
    record_file: r.record_file,
    transcript_file: r.transcript_file,
    result_file: r.result_file,
    stderr_file: r.stderr_file,
    next: r.next,
  }));
  const every = (key: keyof HeldRun["next"]) => slugs.map((s) => s.next[key]).join("; ");
  return {
    version: 1,
    status: "started",
    command: "apply",
    supervisor_pid: started.supervisor_pid,
    parallel: opts.parallel,
    slugs,
    done,
    next: { wait: every("wait"), logs: every("logs"), cancel: every("cancel"), status: every("status") },
  };
}

/**
 * The plans as the front end had them: each task is one object again (steps of a task share it, and
 * the summary groups steps by it).
 */
export function revivePlans(plans: readonly SlugPlan[]): SlugPlan[] {
  const tasks = new Map<string, LoadedTask>();
  return plans.map((plan) => ({
    slug: plan.slug,
    steps: plan.steps.map((step) => {
      const key = `${step.task.file}\0${step.task.index}`;
      if (!tasks.has(key)) tasks.set(key, step.task);
      return { ...step, task: tasks.get(key)! };
    }),
  }));
}

/** The supervisor's handler for kind "apply": the apply, with the slugs the front end locked. */
export const applyHandler: DetachedHandler = async (payload, deps) => {
  const p = payload as DetachedApplyPayload;
  const result = await applyPlans(revivePlans(p.plans), p.opts, {
    config: deps.config,
    reporter: deps.reporter,
    signal: deps.signal,
    // The front end checked every step's agent is installed; the same environment finds them here.
    agentBin: (agent) => findAgentBin(getAgent(agent), deps.config),
    dispatch: dispatchComplete,
    held: new Map(deps.held.map((h) => [h.slug, h])),
    detached: true,
  });
  deps.reporter.progress(`apply ended: exit ${result.exit_code} (steps in each project's apply-state.json)`);
  return result.exit_code;
};
