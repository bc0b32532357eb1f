/**
 * The specialist CLIs dispatch-cc can drive, by name: one line each. Adding an agent is one folder under
 * `src/agents/` exporting an `Agent`, and one line here.
 *
 * @module
 */
import type { Agent, AgentName } from "./agent.ts";
import { claudeCode } from "./claude_code/mod.ts";
import { codexAgent } from "./codex/agent.ts";
import { geminiAgent } from "./gemini/agent.ts";
import { UsageError } from "../errors.ts";

export const AGENTS: Partial<Record<AgentName, Agent>> = {
  claude: claudeCode,
  codex: codexAgent,
  gemini: geminiAgent,
};

/** The agent when none is named. */
export const DEFAULT_AGENT: AgentName = "claude";

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

/** Is `name` an agent in the registry? */
export function isAgentName(name: string): name is AgentName {
  return Object.hasOwn(AGENTS, name);
}

/**
 * Reads an agent name as a user writes it (`--agent`, `agent:`, `DISPATCH_AGENT`); exit 2 on another.
 *
 * @example
 * ```ts
 * parseAgentName("codex", "--agent"); // "codex"
 * ```
 */
export function parseAgentName(value: string, source: string): AgentName {
  const v = value.trim().toLowerCase();
  if (isAgentName(v)) return v;
  throw new UsageError(
    `${source}: unknown agent ${JSON.stringify(value)} (expected one of: ${Object.keys(AGENTS).join(", ")})`,
  );
}
