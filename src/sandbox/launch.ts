/**
 * How Claude Code is started for one run: the program, its arguments, its environment. This is where
 * the layers of the sandbox meet (environment allow-list, permission mode, OS sandbox); the runner only
 * executes the plan.
 */
import { childEnv } from "./env.ts";

export interface LaunchInput {
  claudeBin: string;
  claudeArgs: string[];
  projectDir: string;
  logsDir: string;
  /** dispatch-cc's own environment. */
  parentEnv: Record<string, string>;
  /** Extra variable names the task passes through. */
  envNames?: string[];
  /** Variables dispatch-cc sets for the child (the run marker). */
  set: Record<string, string>;
}

export interface LaunchPlan {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

/** The plain launch: Claude Code itself, with the allow-listed environment, in the project folder. */
export function planLaunch(input: LaunchInput): Promise<LaunchPlan> {
  return Promise.resolve({
    command: input.claudeBin,
    args: input.claudeArgs,
    cwd: input.projectDir,
    env: childEnv(input.parentEnv, { extraNames: input.envNames, set: input.set }),
  });
}
