/**
 * A task's steps as dispatch requests: the first prompt, each follow-up, the review, with the settings
 * each step gets (command-line flags, then the step's own values, then the task's, then the defaults).
 *
 * @module
 */
import type { DispatchRequest } from "../runner/dispatch.ts";
import type { VerifyRequest } from "../runner/request.ts";
import type { VerifySpec } from "./schema.ts";
import { DEFAULT_REVIEW_PROMPT } from "../runner/review_prompt.ts";
import { resolveSandbox, type SandboxChoice, type SandboxFlags } from "../sandbox/choice.ts";
import { type PermissionMode, permissionRank } from "../sandbox/permission.ts";
import type { AgentName } from "../agents/agent.ts";
import { stepHashes } from "./hash.ts";
import type { LoadedTask } from "./load.ts";
import type { StepKind } from "./state.ts";

/**
 * Settings given on the `apply` command line. They win over the task file for every step, except the
 * review's permission, which they cap: the review is read-only (plan) unless its own `permission` (or
 * `--set review=...`) asks for more, and never above `--permission` (see {@linkcode reviewPermission}).
 */
export interface FlagOverrides {
  /** --agent: wins over the task's `agent:`. */
  agent?: AgentName;
  permission?: PermissionMode;
  model?: string;
  timeoutS?: number;
  maxTurns?: number;
  maxBudgetUsd?: number;
  allowedTools?: string[];
  disallowedTools?: string[];
  systemPrompt?: string;
  envNames?: string[];
  /** --sandbox, --no-network, --claude-sandbox, --no-sandbox: win over the task's `sandbox:`. */
  sandbox?: SandboxFlags;
  /** --allow-dangerous: a permission above DISPATCH_MAX_PERMISSION is allowed. */
  allowDangerous?: boolean;
  /** --verify / --verify-retries: the check of every work step (not the review). */
  verify?: VerifyRequest;
  /** --on-done / DISPATCH_ON_DONE: after every step's run. */
  onDone?: string;
}

/** A task file's `verify:` as a request's (null: none). */
function verifyOf(v: VerifySpec | null | undefined): VerifyRequest | undefined {
  return v
    ? { command: v.command, retries: v.retries ?? 1, ...(v.timeout ? { timeoutS: v.timeout } : {}) }
    : undefined;
}

/** The defaults of the environment (DISPATCH_PERMISSION, DISPATCH_TIMEOUT). */
export interface StepDefaults {
  permission: PermissionMode;
  timeoutS: number;
  /** DISPATCH_SANDBOX. */
  sandbox: SandboxChoice;
  /** The agent of a step neither --agent nor the task names: the project's, else DISPATCH_AGENT. */
  agentOf?: (slug: string) => AgentName | undefined;
}

/** The request of one step, without the session (decided when it runs, from the apply state). */
export type StepRequest = Omit<DispatchRequest, "session" | "resumeSessionAt" | "wait">;

export interface PlannedStep {
  /** Position within the slug, from 1 (the apply state's key). */
  position: number;
  /** Position of this task's first step: follow-ups continue that task's session. */
  taskFirst: number;
  task: LoadedTask;
  kind: StepKind;
  when: "success" | "always";
  hash: string;
  request: StepRequest;
}

/**
 * The review's permission: what the review asks for (plan when it says nothing), capped by the caller's
 * `--permission`. The ceiling (DISPATCH_MAX_PERMISSION) is checked on the result like every step's.
 *
 * @example
 * ```ts
 * reviewPermission("acceptEdits", "plan"); // "plan"
 * reviewPermission(undefined, "bypassPermissions"); // "plan"
 * reviewPermission("default", undefined); // "default"
 * ```
 */
export function reviewPermission(
  asked: PermissionMode | undefined,
  cap: PermissionMode | undefined,
): PermissionMode {
  const wanted = asked ?? "plan";
  return cap !== undefined && permissionRank(cap) < permissionRank(wanted) ? cap : wanted;
}

/** The flags that were given, as they enter the first step's hash. */
export function overridesForHash(flags: FlagOverrides): Record<string, unknown> {
  // A completion hook does not change the work: a new --on-done re-runs nothing.
  return Object.fromEntries(Object.entries(flags).filter(([k, v]) => v !== undefined && k !== "onDone"));
}

/**
 * The steps of the tasks of one slug, in file order, numbered on from `taskFirst`; hashes chain across
 * the tasks, so a change in an earlier task re-runs the later ones.
 *
 * @example
 * ```ts
 * const steps = await planSlugSteps(tasksOfSlug, {}, { permission: "acceptEdits", timeoutS: 600 });
 * steps.map((s) => s.kind); // ["prompt", "follow_up", "review"]
 * ```
 */
export async function planSlugSteps(
  tasks: readonly LoadedTask[],
  flags: FlagOverrides,
  defaults: StepDefaults,
): Promise<PlannedStep[]> {
  const steps: PlannedStep[] = [];
  let previous = "";
  for (const task of tasks) {
    const hashes = await stepHashes(task, overridesForHash(flags), previous);
    previous = hashes.at(-1) ?? previous;
    const taskFirst = steps.length + 1;
    const spec = task.spec;
    /** "file:line:col: follow_ups[0].permission" (the position when known). */
    const source = (key: string) => {
      const at = task.permissionAt?.[key];
      return `${task.file}${at ? `:${at.line}:${at.col}` : ""}: ${key}`;
    };
    const env = [...new Set([...spec.env, ...(flags.envNames ?? [])])];
    const agent = flags.agent ?? spec.agent ?? defaults.agentOf?.(spec.slug);
    const base: StepRequest = {
      command: "apply",
      ...(agent ? { agent } : {}),
      slug: spec.slug,
      prompt: spec.prompt,
      description: spec.description,
      permission: flags.permission ?? spec.permission ?? defaults.permission,
      timeoutS: flags.timeoutS ?? spec.timeout ?? defaults.timeoutS,
      model: flags.model ?? spec.model,
      maxTurns: flags.maxTurns ?? spec.max_turns,
      maxBudgetUsd: flags.maxBudgetUsd ?? spec.max_budget_usd,
      allowedTools: flags.allowedTools ?? spec.allowed_tools,
      disallowedTools: flags.disallowedTools ?? spec.disallowed_tools,
      systemPrompt: flags.systemPrompt ?? spec.system_prompt,
      envNames: env.length ? env : undefined,
      role: "work",
      sandbox: resolveSandbox(flags.sandbox ?? {}, spec.sandbox, defaults.sandbox),
      allowDangerous: flags.allowDangerous,
      permissionSource: flags.permission
        ? "--permission"
        : spec.permission === undefined
        ? "the default permission (DISPATCH_PERMISSION)"
        : source("permission"),
      outputSchema: spec.output_schema,
      verify: flags.verify ?? verifyOf(spec.verify),
      onDone: flags.onDone ?? spec.on_done,
    };
    const add = (kind: StepKind, when: PlannedStep["when"], request: StepRequest) =>
      steps.push({
        position: steps.length + 1,
        taskFirst,
        task,
        kind,
        when,
        hash: hashes[steps.length - taskFirst + 1],
        request,
      });
    add("prompt", "success", base);
    for (const [i, f] of spec.follow_ups.entries()) {
      add("follow_up", f.when, {
        ...base,
        prompt: f.prompt,
        permission: flags.permission ?? f.permission ?? base.permission,
        permissionSource: flags.permission || f.permission === undefined
          ? base.permissionSource
          : source(`follow_ups[${i}].permission`),
        timeoutS: flags.timeoutS ?? f.timeout ?? base.timeoutS,
        model: flags.model ?? f.model ?? base.model,
        maxTurns: flags.maxTurns ?? f.max_turns ?? base.maxTurns,
        // A follow-up asks something else: the task's schema is not handed on; its check is (unless it
        // names its own, or `verify: false`).
        outputSchema: f.output_schema,
        verify: flags.verify ?? (f.verify === undefined ? base.verify : verifyOf(f.verify)),
      });
    }
    if (spec.review) {
      add("review", "success", {
        ...base,
        prompt: spec.review.prompt ?? DEFAULT_REVIEW_PROMPT,
        permission: reviewPermission(spec.review.permission, flags.permission),
        permissionSource: spec.review.permission === undefined
          ? "the review (read-only by default)"
          : source("review.permission"),
        model: flags.model ?? spec.review.model ?? base.model,
        // A review reads; the task's allow-list (which may allow commands) is not handed on.
        allowedTools: flags.allowedTools,
        role: "review",
        outputSchema: spec.review.output_schema,
        verify: verifyOf(spec.review.verify),
      });
    }
  }
  return steps;
}
