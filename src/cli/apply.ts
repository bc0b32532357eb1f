/**
 * `dispatch-cc apply FILE...`: validate task files, then run each task's steps (first prompt, follow-ups
 * on the same session, review) and print a step-by-step summary. Resumable: see src/spec/state.ts.
 */
import { parseAgentName } from "../agents/registry.ts";
import { chooseAgent } from "../runner/agent_choice.ts";
import { dirname, isAbsolute, resolve } from "../paths.ts";
import { parse as parseYaml } from "yaml";
import { UsageError } from "../errors.ts";
import { EXIT } from "../exit_codes.ts";
import { renderApply, renderDetachedApply, renderDryRun, renderProblems } from "../render/apply.ts";
import { dispatchComplete } from "../runner/on_done.ts";
import { projectPaths } from "../store/project.ts";
import { findAgentBin } from "../runner/find_agent.ts";
import { agentOf, checkRequest } from "../runner/plan.ts";
import { parsePermission } from "../sandbox/permission.ts";
import { applyPlans, type SlugPlan, type TaskOutcome } from "../spec/apply.ts";
import { limitResult } from "../render/run.ts";
import { startDetachedApply } from "../spec/detached_apply.ts";
import { dryRun } from "../spec/dry_run.ts";
import { taskJsonSchema } from "../spec/json_schema.ts";
import { type LoadedTask, loadTaskFiles, type TaskFileTrust } from "../spec/load.ts";
import { parseDuration } from "../spec/schema.ts";
import { type FlagOverrides, planSlugSteps } from "../spec/steps.ts";
import { closestMatch } from "../suggest.ts";
import { type Command, type CommandContext, JSON_VERSION } from "./context.ts";
import { DISPATCH_OPTIONS, onDoneFromFlags, verifyFromFlags } from "./dispatch_options.ts";
import {
  flag,
  type OptionSpecs,
  type Parsed,
  parseOptions,
  positiveNumber,
  str,
  toolList,
} from "./options.ts";

const {
  slug: _slug,
  prompt: _prompt,
  "prompt-file": _promptFile,
  "output-schema": _outputSchema,
  ...shared
} = DISPATCH_OPTIONS;

/** What the caller lets task files reach (apply and validate take the same flags). */
export const TRUST_OPTIONS: OptionSpecs = {
  "allow-env": {
    type: "string",
    multiple: true,
    arg: "NAME[,NAME]",
    help: "let the task files pass these variables of yours (their `env:`); others are refused",
  },
  "allow-path": {
    type: "string",
    multiple: true,
    arg: "DIR",
    help: "let the task files read prompt files in DIR too (default: only each file's own folder)",
  },
  "allow-commands": {
    type: "boolean",
    help: "let the task files run their verify: and on_done: commands (they run as you)",
  },
};

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The caller's leave for task files: `--allow-env` names (comma-separated, repeatable) and `--env` names
 * (passed to every step anyway), `--allow-path` folders (relative to the user's folder, symlinks resolved,
 * each an existing folder).
 */
export async function taskFileTrust(p: Parsed, userCwd: string): Promise<TaskFileTrust> {
  const list = (name: string) => (p.values[name] as string[] | undefined) ?? [];
  const allowEnv = [...list("allow-env").flatMap((v) => v.split(",")), ...list("env")]
    .map((n) => n.trim()).filter(Boolean);
  for (const name of allowEnv) {
    if (!ENV_NAME.test(name)) {
      throw new UsageError(`--allow-env: invalid environment variable name "${name}"`);
    }
    if (name === "IS_SANDBOX") {
      throw new UsageError("IS_SANDBOX cannot be passed: the OS sandbox sets it, and only there");
    }
  }
  const allowPaths: string[] = [];
  for (const dir of list("allow-path")) {
    const full = resolve(userCwd, dir);
    let real: string;
    try {
      real = await Deno.realPath(full);
      if (!(await Deno.stat(real)).isDirectory) throw new UsageError(`--allow-path ${dir}: not a folder`);
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError(`--allow-path ${dir}: cannot use ${full}: ${(err as Error).message}`);
    }
    allowPaths.push(real);
  }
  return { allowEnv, allowPaths, allowCommands: flag(p, "allow-commands") };
}

const options: OptionSpecs = {
  ...shared,
  ...TRUST_OPTIONS,
  "dry-run": {
    type: "boolean",
    help: "print each step's Claude Code arguments, folder, permissions and environment names; run nothing",
  },
  restart: { type: "boolean", help: "run every step again, ignoring what earlier applies finished" },
  parallel: { type: "string", arg: "N", help: "run the tasks of N different slugs at once (default 1)" },
  set: {
    type: "string",
    multiple: true,
    arg: "KEY=VALUE",
    help: "override a top-level task field in every task, e.g. --set model=opus --set max_turns=20",
  },
  timeout: { type: "string", arg: "DURATION", help: "time limit per step: seconds or 90s, 10m, 1h" },
};

/** Fields whose `--set` value is taken as text as written; the others are read as YAML (numbers, lists). */
const TEXT_FIELDS = new Set([
  "slug",
  "description",
  "prompt",
  "prompt_file",
  "system_prompt",
  "permission",
  "model",
  "agent",
]);

/**
 * Task file paths as given, resolved against the user's folder when dispatch-cc runs elsewhere
 * (`deno task` runs in the folder of deno.json).
 */
export function taskFilePaths(files: readonly string[], userCwd: string): string[] {
  return files.map((f) =>
    isAbsolute(f) || resolve(userCwd) === resolve(Deno.cwd()) ? f : resolve(userCwd, f)
  );
}

/**
 * Reads `--set key=value` options: keys are top-level task fields (with a suggestion for a typo), values
 * are text for text fields and YAML otherwise (`max_turns=20`, `allowed_tools=[Read, Grep]`, `review=true`).
 */
export function parseSets(items: readonly string[], userCwd: string): Record<string, unknown> {
  const fields = Object.keys(taskJsonSchema().properties as Record<string, unknown>);
  const out: Record<string, unknown> = {};
  for (const item of items) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new UsageError(`--set needs KEY=VALUE, got ${JSON.stringify(item)}`);
    const key = item.slice(0, eq).trim();
    const raw = item.slice(eq + 1);
    if (!fields.includes(key)) {
      const hint = closestMatch(key, fields);
      throw new UsageError(
        `--set: unknown task field "${key}"${hint ? ` (did you mean ${hint}?)` : ""}; fields: ${
          fields.join(", ")
        }`,
      );
    }
    let value: unknown = raw;
    if (!TEXT_FIELDS.has(key)) {
      try {
        value = parseYaml(raw);
      } catch (err) {
        throw new UsageError(`--set ${key}: cannot read ${JSON.stringify(raw)}: ${(err as Error).message}`);
      }
      if (
        (key === "allowed_tools" || key === "disallowed_tools" || key === "env") && typeof value === "string"
      ) {
        value = value.split(",").map((s) => s.trim()).filter(Boolean);
      }
    }
    // A prompt file named on the command line is relative to the user's folder, not the task file's.
    if (key === "prompt_file") value = resolve(userCwd, raw);
    out[key] = value;
  }
  return out;
}

/** The command-line settings that override every task. */
function flagOverrides(p: Parsed, env: Record<string, string>): FlagOverrides {
  const permission = str(p, "permission");
  const timeout = str(p, "timeout");
  let timeoutS: number | undefined;
  if (timeout !== undefined) {
    try {
      timeoutS = parseDuration(timeout);
    } catch (err) {
      throw new UsageError(`--timeout: ${(err as Error).message}`);
    }
  }
  const agent = str(p, "agent");
  return {
    agent: agent !== undefined ? parseAgentName(agent, "--agent") : undefined,
    permission: permission !== undefined ? parsePermission(permission, "--permission") : undefined,
    model: str(p, "model"),
    timeoutS,
    maxTurns: positiveNumber(p, "max-turns", true),
    maxBudgetUsd: positiveNumber(p, "max-budget-usd"),
    allowedTools: toolList(p, "allowed-tools"),
    disallowedTools: toolList(p, "disallowed-tools"),
    systemPrompt: str(p, "system-prompt"),
    envNames: p.values.env as string[] | undefined,
    sandbox: {
      sandbox: flag(p, "sandbox"),
      noNetwork: flag(p, "no-network"),
      claudeSandbox: flag(p, "claude-sandbox"),
      noSandbox: flag(p, "no-sandbox"),
    },
    allowDangerous: flag(p, "allow-dangerous") || undefined,
    verify: verifyFromFlags(p),
    onDone: onDoneFromFlags(p, env),
  };
}

/** Each step's result cut to `--result-limit` characters (none: whole), saying so where it was cut. */
function cutResults(tasks: readonly TaskOutcome[], limit: number | undefined): TaskOutcome[] {
  return tasks.map((t) => ({
    ...t,
    steps: t.steps.map((s) => {
      if (s.result === undefined) return s;
      const cut = limitResult(s.result ?? null, limit);
      return { ...s, result: cut.text, result_truncated: cut.truncated, result_chars: cut.chars };
    }),
  }));
}

/** Tasks grouped by slug, in order of first appearance; a slug's tasks keep their file order. */
async function slugPlans(tasks: readonly LoadedTask[], flags: FlagOverrides, ctx: CommandContext) {
  const bySlug = new Map<string, LoadedTask[]>();
  for (const t of tasks) bySlug.set(t.spec.slug, [...bySlug.get(t.spec.slug) ?? [], t]);
  const defaults = {
    permission: ctx.config.permission,
    timeoutS: ctx.config.timeoutS,
    sandbox: ctx.config.sandbox,
  };
  const plans: SlugPlan[] = [];
  for (const [slug, group] of bySlug) {
    // A step naming no agent runs the project's (else DISPATCH_AGENT's, else Claude Code).
    const agent = await chooseAgent(undefined, projectPaths(ctx.config.projectsDir, slug), ctx.config.agent);
    plans.push({ slug, steps: await planSlugSteps(group, flags, { ...defaults, agentOf: () => agent }) });
  }
  return plans;
}

/** Every agent the steps name has its binary (exit 127 with the install command before anything runs). */
async function agentBins(plans: readonly SlugPlan[], ctx: CommandContext): Promise<Map<string, string>> {
  const bins = new Map<string, string>();
  for (const step of plans.flatMap((plan) => plan.steps)) {
    const agent = agentOf(step.request);
    if (!bins.has(agent.name)) bins.set(agent.name, await findAgentBin(agent, ctx.config));
  }
  return bins;
}

export const applyCommand: Command = {
  name: "apply",
  summary: "run task files: first prompt, follow-ups on the same session, review; resumable",
  usage: "dispatch-cc apply FILE... [--dry-run] [--restart] [--parallel N] [--set KEY=VALUE]... [options]",
  options,
  positionals: true,
  details: [
    "Validates every file first; nothing runs if any problem is found (exit 2).",
    "Flags override the task files for every step, except that --permission caps the review (read-only",
    "unless both the file and --permission allow more); --set overrides a top-level field as if the files",
    "said so. A task file passes only the variables you allow (--allow-env, --env) and reads prompt files",
    "only in its own folder, symlinks resolved (--allow-path DIR for more). Progress of each step is kept in",
    ".dispatch-logs/apply-state.json: applying again skips finished steps, continues a failed, timed-out",
    "or interrupted step on the same session (rewound to the last successful step), and re-runs from the",
    "first step whose spec changed. A step runs only if the one before succeeded, unless it says",
    "`when: always`. Exit code: that of the worst step, in the order interrupted (130) > timeout (124) >",
    "error (1) > lock held (5) > blocked (4) > turn/budget limit (6) > success (0).",
    "--json: {version, tasks: [{slug, file, steps: [{step, kind, status, exit_code, session_id, run_id,",
    "skipped?, result, result_truncated, result_chars, cost_usd, tokens, num_turns, structured_output?, verify?}]}],",
    "exit_code} (result and the rest for steps run by this apply; --result-limit N cuts result); with --dry-run",
    "{version, dry_run: true, steps: [...]}.",
    "--detach: checks everything above, locks every slug with steps to run (a held lock: exit 5, nothing",
    "starts), runs the apply in one background supervisor and returns at once: {version, status: started,",
    "supervisor_pid, slugs: [{slug, run_id, first_step, steps, next}], done, next}. `wait --slug S` returns",
    "after S's last step with that step's record; `cancel --slug S` stops S (re-apply continues there).",
  ].join("\n"),
  async run(argv, ctx) {
    const p = parseOptions("apply", argv, options, true);
    if (p.positionals.length === 0) throw new UsageError("apply: name at least one task file");
    const parallelRaw = positiveNumber(p, "parallel", true);
    const flags = flagOverrides(p, ctx.config.env);
    const sets = parseSets((p.values.set as string[] | undefined) ?? [], ctx.config.userCwd);
    const files = taskFilePaths(p.positionals, ctx.config.userCwd);
    const trust = await taskFileTrust(p, ctx.config.userCwd);
    const { tasks, problems } = await loadTaskFiles(files, undefined, undefined, sets, trust);
    if (problems.length > 0) {
      ctx.reporter.warn(`apply: ${problems.length} problem(s) in the task files; nothing was run`);
      return {
        exitCode: EXIT.usage,
        json: { version: JSON_VERSION, ok: false, problems, tasks: [], exit_code: EXIT.usage },
        text: renderProblems(problems, tasks.length),
      };
    }
    const plans = await slugPlans(tasks, flags, ctx);
    // `repo:` tasks: each project is a worktree of its repository, checked (and created) before any step.
    const prepareRepos = async (checkOnly: boolean) => {
      const withRepo = tasks.filter((t) => t.spec.repo !== undefined || t.spec.base !== undefined);
      if (withRepo.length === 0) return;
      const { ensureRepoProject } = await import("../git/repo.ts");
      for (const t of withRepo) {
        if (t.spec.repo === undefined) {
          throw new UsageError(`${t.file}: task ${t.spec.slug}: base needs repo`);
        }
        await ensureRepoProject(projectPaths(ctx.config.projectsDir, t.spec.slug), {
          repo: t.spec.repo,
          base: t.spec.base,
          cwd: resolve(ctx.config.userCwd, dirname(t.file)),
          description: t.spec.description,
          now: new Date(),
          warn: ctx.reporter.warn,
          checkOnly,
        });
      }
    };

    if (flag(p, "dry-run")) {
      await prepareRepos(true);
      const bin = await findAgentBin(agentOf(plans[0]?.steps[0]?.request ?? {}), ctx.config).catch((err) => {
        ctx.reporter.warn(`${(err as Error).message}; showing "claude"`);
        return "claude";
      });
      const steps = await dryRun(plans, flag(p, "restart"), ctx.config, bin);
      return {
        exitCode: EXIT.success,
        json: { version: JSON_VERSION, dry_run: true, steps },
        text: renderDryRun(steps),
      };
    }

    // The permission ceiling and the sandbox's programs, for every step, before anything runs.
    for (const step of plans.flatMap((plan) => plan.steps)) {
      const paths = projectPaths(ctx.config.projectsDir, step.request.slug);
      const req = { ...step.request, session: { mode: "new" as const } };
      await checkRequest(req, { config: ctx.config, agentBin: "claude" }, paths);
    }
    await prepareRepos(false);
    const applyOptions = { restart: flag(p, "restart"), parallel: parallelRaw ?? 1, wait: flag(p, "wait") };
    if (flag(p, "detach")) {
      const bins = await agentBins(plans, ctx);
      const agentBin = bins.get(agentOf(plans[0]?.steps[0]?.request ?? {}).name) ?? "claude";
      const started = await startDetachedApply(plans, applyOptions, { ...ctx, agentBin });
      if (started) return { exitCode: EXIT.success, json: started, text: renderDetachedApply(started) };
      ctx.reporter.progress("apply: every step is done already; nothing started in the background");
    }
    const bins = new Map<string, Promise<string>>();
    const result = await applyPlans(plans, applyOptions, {
      config: ctx.config,
      reporter: ctx.reporter,
      signal: ctx.signal,
      agentBin: (name) => {
        const agent = agentOf({ agent: name });
        if (!bins.has(agent.name)) bins.set(agent.name, findAgentBin(agent, ctx.config));
        return bins.get(agent.name)!;
      },
      dispatch: dispatchComplete,
    });
    const resultLimit = positiveNumber(p, "result-limit", true);
    return {
      exitCode: result.exit_code,
      json: {
        version: JSON_VERSION,
        tasks: cutResults(result.tasks, resultLimit),
        exit_code: result.exit_code,
      },
      text: renderApply(result.tasks, result.exit_code),
    };
  },
};
