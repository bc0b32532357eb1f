/**
 * The specialist CLIs dispatch-cc can drive, by name: one line each. Adding an agent is one folder under
 * `src/agents/` exporting an `Agent`, its name in `names.ts`, and one line here (the type checker wants both).
 *
 * @module
 */
import type { Agent } from "./agent.ts";
import { claudeCode } from "./claude_code/mod.ts";
import { codexAgent } from "./codex/agent.ts";
import { geminiAgent } from "./gemini/agent.ts";
import { type AgentName, DEFAULT_AGENT } from "./names.ts";

export { DEFAULT_AGENT, isAgentName, parseAgentName } from "./names.ts";

export const AGENTS: Record<AgentName, Agent> = {
  claude: claudeCode,
  codex: codexAgent,
  gemini: geminiAgent,
};

/**
 * The agent of that name; `undefined` names the default (Claude Code). Throws on an agent not listed
 * (callers check names the user gave with {@linkcode isAgentName} first).
 *
 * @example
 * ```ts
 * getAgent().displayName; // "Claude Code"
 * ```
 */
export function getAgent(name: AgentName | undefined = DEFAULT_AGENT): Agent {
  const agent = AGENTS[name];
  if (!agent) throw new Error(`no agent named ${JSON.stringify(name)}`);
  return agent;
}
