/**
 * `apply --dry-run`: what each step would do, from the same pieces the runner uses (the apply state,
 * the runner's launch plan), without running or writing anything.
 *
 * @module
 */
import type { Config } from "../config.ts";
import { NEW_SESSION, planRun } from "../runner/plan.ts";
import { projectPaths } from "../store/project.ts";
import type { SlugPlan } from "./apply.ts";
import { applyStatePath, continuation, firstToRun, readApplyState, type StepKind } from "./state.ts";

export { NEW_SESSION };

/** One step of a dry run. `skip`: finished by an earlier apply with the same spec. */
export interface DryRunStep {
  slug: string;
  file: string;
  step: number;
  kind: StepKind;
  action: "run" | "skip";
  when: "success" | "always";
  session: { mode: "new" | "resume"; id: string; resume_at: string | null };
  command: string;
  args: string[];
  cwd: string;
  permission: string;
  allowed_tools: string[];
  disallowed_tools: string[];
  timeout_s: number;
  /** The OS sandbox, in words. */
  sandbox: string;
  /** Names of the variables Claude Code would get (never their values). */
  env_names: string[];
  prompt_chars: number;
}

/**
 * Plans every step as `apply` would run it now. Sessions that would be resumed are the recorded ones;
 * a follow-up after a step that has not run yet continues the session its task's first step would start.
 */
export async function dryRun(
  plans: readonly SlugPlan[],
  restart: boolean,
  config: Config,
  agentBin: string,
): Promise<DryRunStep[]> {
  const out: DryRunStep[] = [];
  for (const plan of plans) {
    const paths = projectPaths(config.projectsDir, plan.slug);
    const { state } = await readApplyState(applyStatePath(paths.logsDir), plan.slug);
    const start = firstToRun(plan.steps.map((s) => s.hash), state.steps, restart);
    const known = state.steps.filter((s) => s.step <= start);
    for (const [i, step] of plan.steps.entries()) {
      const recorded = known.find((s) => s.step === step.position);
      let session: DryRunStep["session"];
      if (i < start && recorded) {
        session = {
          mode: step.kind === "follow_up" ? "resume" : "new",
          id: recorded.session_id ?? NEW_SESSION,
          resume_at: null,
        };
      } else if (step.kind === "follow_up") {
        const cont = continuation(known, step.taskFirst, step.position);
        session = { mode: "resume", id: cont?.sessionId ?? NEW_SESSION, resume_at: cont?.resumeAt ?? null };
      } else {
        session = { mode: "new", id: NEW_SESSION, resume_at: null };
      }
      const r = step.request;
      const launch = await planRun(
        { ...r, resumeSessionAt: session.resume_at ?? undefined },
        { config, agentBin },
        paths,
        { mode: session.mode, id: session.id },
        "<run-marker>",
      );
      out.push({
        slug: plan.slug,
        file: step.task.file,
        step: step.position,
        kind: step.kind,
        action: i < start ? "skip" : "run",
        when: step.when,
        session,
        command: launch.command,
        args: launch.args,
        cwd: launch.cwd,
        permission: r.permission,
        allowed_tools: r.allowedTools ?? [],
        disallowed_tools: r.disallowedTools ?? [],
        timeout_s: r.timeoutS,
        env_names: launch.envNames,
        sandbox: launch.sandbox.description,
        prompt_chars: r.prompt.length,
      });
    }
  }
  return out;
}
