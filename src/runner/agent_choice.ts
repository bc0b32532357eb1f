/**
 * Which agent a request runs: the one named (`--agent`, a task file's `agent:`), else the project's (its
 * `project.json` `agent`; a project without one is Claude Code's), else `DISPATCH_AGENT`, else Claude Code.
 * `DISPATCH_AGENT` only chooses for projects that have no agent yet: resuming a project never switches it
 * silently.
 *
 * @module
 */
import type { AgentName } from "../agents/agent.ts";
import { DEFAULT_AGENT, isAgentName } from "../agents/registry.ts";
import { projectAgent, type ProjectMeta, type ProjectPaths, readProjectMeta } from "../store/project.ts";

/** The agent of a project's work session from its metadata; null when there is no project.json. */
export function projectAgentOf(meta: ProjectMeta | null): AgentName | null {
  const name = projectAgent(meta);
  if (name === null) return null;
  return isAgentName(name) ? name : DEFAULT_AGENT;
}

/**
 * The agent of a request.
 *
 * @example
 * ```ts
 * await chooseAgent(undefined, projectPaths(dir, "api"), null); // "codex" if the project is Codex's
 * ```
 */
export async function chooseAgent(
  named: AgentName | undefined,
  paths: ProjectPaths,
  fallback: AgentName | null,
): Promise<AgentName> {
  if (named) return named;
  return projectAgentOf((await readProjectMeta(paths)).meta) ?? fallback ?? DEFAULT_AGENT;
}
