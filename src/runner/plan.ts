/**
 * A request becomes one launch plan: the agent's arguments and stdin, the environment, the OS sandbox,
 * the working directory. Every check of a launch (the permission ceiling, bypassPermissions as root, the
 * sandbox's programs) happens here, through `planLaunch`: run, resume, review, each apply step (follow-ups
 * included), their `--detach` front ends and `--dry-run` all call {@linkcode planRun} (or
 * {@linkcode checkRequest}, which plans with a placeholder session), so no caller can skip it.
 *
 * @module
 */
import type { Agent, AgentInvocation } from "../agents/agent.ts";
import { getAgent } from "../agents/registry.ts";
import type { Config } from "../config.ts";
import { realPath } from "../sandbox/bwrap.ts";
import { type LaunchInput, type LaunchPlan, planLaunch } from "../sandbox/launch.ts";
import type { ProjectPaths } from "../store/project.ts";
import { isSessionId } from "../store/project.ts";
import { checkOutputSchema } from "./output_schema.ts";
import type { DispatchRequest } from "./request.ts";

/** The environment variable that marks every process of a run (the sweep, and `cancel`, find them by it). */
export const MARKER = "DISPATCH_CC_RUN";

/** Stands for a session id not known yet (a dry run, the check before a run). */
export const NEW_SESSION = "<new-session-id>";

/** What a launch needs of a request (its session is chosen separately). */
export type LaunchRequest = Omit<DispatchRequest, "session">;

/** A launch plan and what the runner feeds the process: the prompt on stdin (or nothing). */
export interface RunPlan extends LaunchPlan {
  agent: Agent;
  /** The prompt on stdin, or null for /dev/null. */
  stdin: string | null;
}

/** The agent a request names (Claude Code when it names none). */
export function agentOf(req: Pick<DispatchRequest, "agent">): Agent {
  return getAgent(req.agent);
}

/** The agent-neutral invocation of a request once its session is chosen (the run and --dry-run share it). */
export function invocationFor(
  req: LaunchRequest,
  session: AgentInvocation["session"],
  paths: ProjectPaths,
): AgentInvocation {
  return {
    session,
    permission: req.permission,
    projectDir: paths.dir,
    model: req.model,
    maxTurns: req.maxTurns,
    maxBudgetUsd: req.maxBudgetUsd,
    allowedTools: req.allowedTools,
    disallowedTools: req.disallowedTools,
    appendSystemPrompt: req.systemPrompt,
    // The real path too: Claude Code matches deny rules against the path a tool call names.
    protectedPaths: [...new Set([paths.logsDir, realPath(paths.logsDir)])],
    resumeAt: session.mode === "resume" && req.resumeSessionAt && isSessionId(req.resumeSessionAt)
      ? req.resumeSessionAt
      : undefined,
    ownSandbox: req.sandbox?.kind === "claude",
    osSandbox: req.sandbox?.kind === "bwrap",
    ...(req.outputSchema ? { outputSchema: req.outputSchema } : {}),
  };
}

/**
 * The launch plan of a request with its session. Reads the file system (to find bwrap, resolve paths) but
 * writes nothing; throws UsageError / NotInstalledError when the launch is refused.
 *
 * @example
 * ```ts
 * const plan = await planRun(req, { config, agentBin }, paths, { mode: "new", id: crypto.randomUUID() }, marker);
 * ```
 */
export async function planRun(
  req: LaunchRequest,
  deps: { config: Config; agentBin: string },
  paths: ProjectPaths,
  session: AgentInvocation["session"],
  marker: string,
  /** More OS sandbox binds (a repository's `.git` parts, from `src/git/`). */
  binds: Pick<LaunchInput, "extraReadOnly" | "extraWritable"> & { set?: Record<string, string> } = {},
): Promise<RunPlan> {
  const agent = agentOf(req);
  await checkOutputSchema(agent, req.outputSchema);
  const cmd = agent.command(invocationFor(req, session, paths), req.prompt);
  const launch = await planLaunch({
    agent,
    claudeBin: deps.agentBin,
    claudeArgs: cmd.args,
    resumeId: session.mode === "resume" ? session.id : null,
    projectDir: paths.dir,
    logsDir: paths.logsDir,
    parentEnv: deps.config.env,
    envNames: req.envNames,
    set: { ...cmd.env, ...binds.set, [MARKER]: marker },
    permission: req.permission,
    permissionSource: req.permissionSource,
    ceiling: deps.config.ceiling,
    allowDangerous: req.allowDangerous,
    sandbox: req.sandbox,
    uid: Deno.build.os === "windows" ? null : Deno.uid(),
    extraReadOnly: binds.extraReadOnly,
    extraWritable: binds.extraWritable,
  });
  return { ...launch, agent, stdin: cmd.stdin };
}

/**
 * Checks a request before anything is written or started (in the foreground, even with --detach): the
 * same plan a run makes, with a placeholder session.
 */
export async function checkRequest(
  req: LaunchRequest,
  deps: { config: Config; agentBin: string },
  paths: ProjectPaths,
): Promise<void> {
  const agent = agentOf(req);
  await planRun(
    req,
    deps,
    paths,
    { mode: "new", id: agent.assignsSessionId ? NEW_SESSION : null },
    "<run-marker>",
  );
}
