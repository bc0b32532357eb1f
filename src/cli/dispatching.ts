/**
 * The part run, resume and review share: find the agent's CLI, run the dispatch (in the foreground, or in
 * a detached supervisor with --detach), turn the record into the command's result.
 */
import type { DispatchRequest } from "../runner/dispatch.ts";
import { dispatchComplete } from "../runner/on_done.ts";
import { startDetached } from "../runner/detach.ts";
import { findAgentBin } from "../runner/find_agent.ts";
import { agentOf, checkRequest } from "../runner/plan.ts";
import { chooseAgent } from "../runner/agent_choice.ts";
import { renderDetached, renderRun, runJson } from "../render/run.ts";
import { projectPaths } from "../store/project.ts";
import type { Command, CommandContext, CommandResult } from "./context.ts";
import { dryRunDispatch } from "./dry_run.ts";
import {
  type OutputFlags,
  outputFromFlags,
  readPrompt,
  requestFromFlags,
  requireSlug,
} from "./dispatch_options.ts";
import { type OptionSpecs, parseOptions, str } from "./options.ts";
import { readOutputSchema } from "../runner/output_schema.ts";
import type { PermissionMode } from "../sandbox/permission.ts";
import { UsageError } from "../errors.ts";

export async function runDispatch(
  req: DispatchRequest,
  ctx: CommandContext,
  out: OutputFlags = { detach: false },
  repo?: { path: string; base?: string },
): Promise<CommandResult> {
  // The agent named, else the project's, else DISPATCH_AGENT, else Claude Code.
  req = {
    ...req,
    agent: await chooseAgent(req.agent, projectPaths(ctx.config.projectsDir, req.slug), ctx.config.agent),
  };
  const agentBin = await findAgentBin(agentOf(req), ctx.config);
  // `--repo`: the project folder is a worktree of the repository (checked before anything is created).
  const prepareRepo = async (checkOnly: boolean) => {
    if (!repo) return;
    const { ensureRepoProject } = await import("../git/repo.ts");
    await ensureRepoProject(projectPaths(ctx.config.projectsDir, req.slug), {
      repo: repo.path,
      base: repo.base,
      cwd: ctx.config.userCwd,
      description: req.description,
      now: new Date(),
      warn: ctx.reporter.warn,
      checkOnly,
    });
  };
  if (out.dryRun) {
    await prepareRepo(true);
    return await dryRunDispatch(req, ctx, agentBin);
  }
  // Sandbox refusals (permission ceiling, root + bypassPermissions, bwrap missing) before any run starts,
  // in the foreground even with --detach.
  await checkRequest(req, { config: ctx.config, agentBin }, projectPaths(ctx.config.projectsDir, req.slug));
  await prepareRepo(false);
  if (out.detach) {
    const started = await startDetached({
      kind: "dispatch",
      command: req.command,
      slug: req.slug,
      payload: req,
      permission: req.permission,
      timeoutS: req.timeoutS,
      session: req.session.mode,
      wait: req.wait,
      config: ctx.config,
      agentBin,
      reporter: ctx.reporter,
      signal: ctx.signal,
    });
    return { exitCode: 0, json: started, text: out.quiet ? started.run_id : renderDetached(started) };
  }
  const record = await dispatchComplete(req, {
    config: ctx.config,
    agentBin,
    reporter: ctx.reporter,
    signal: ctx.signal,
  });
  return {
    exitCode: record.exit_code,
    json: runJson(record, out.resultLimit),
    text: renderRun(record, { resultLimit: out.resultLimit }),
  };
}

/** What sets run, resume and review apart; everything else they share. */
export interface DispatchingCommandSpec {
  name: "run" | "resume" | "review";
  summary: string;
  usage: string;
  details?: string;
  options: OptionSpecs;
  session: DispatchRequest["session"];
  /** The permission when neither --permission nor DISPATCH_PERMISSION says (review: plan). */
  permission?: PermissionMode;
  /** The prompt when none is given; without one, a prompt is required. */
  defaultPrompt?: string;
}

/** A command that dispatches one prompt: parse the shared flags, read the prompt, run it. */
export function dispatchingCommand(spec: DispatchingCommandSpec): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    usage: spec.usage,
    details: spec.details,
    options: spec.options,
    async run(argv, ctx) {
      const p = parseOptions(spec.name, argv, spec.options);
      const slug = requireSlug(p);
      const flags = requestFromFlags(p, ctx, { permission: spec.permission });
      const prompt = (await readPrompt(p, ctx, spec.defaultPrompt === undefined)) ?? spec.defaultPrompt!;
      const schema = str(p, "output-schema");
      const outputSchema = schema === undefined
        ? undefined
        : await readOutputSchema(schema, ctx.config.userCwd);
      const repo = str(p, "repo");
      if (str(p, "base") !== undefined && repo === undefined) throw new UsageError("--base needs --repo");
      return runDispatch(
        {
          ...flags,
          ...(outputSchema ? { outputSchema } : {}),
          command: spec.name,
          slug,
          prompt,
          session: spec.session,
        },
        ctx,
        outputFromFlags(p),
        repo === undefined ? undefined : { path: repo, base: str(p, "base") },
      );
    },
  };
}
