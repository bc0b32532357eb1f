/**
 * The names of the specialist CLIs dispatch-cc can drive, without their implementations: reading a name
 * (`--agent`, `agent:`, `DISPATCH_AGENT`, settings) must not load every agent, and the commands that only
 * read projects (`list`, `search`, `status`) load none. `registry.ts` maps each name to its `Agent` (the
 * type checker keeps the two lists in step).
 *
 * @module
 */
import { UsageError } from "../errors.ts";

/** Every agent's name. */
export const AGENT_NAMES = ["claude", "codex", "gemini"] as const;

export type AgentName = typeof AGENT_NAMES[number];

/** The agent when none is named. */
export const DEFAULT_AGENT: AgentName = "claude";

/** Is `name` an agent's name? */
export function isAgentName(name: string): name is AgentName {
  return (AGENT_NAMES as readonly string[]).includes(name);
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
    `${source}: unknown agent ${JSON.stringify(value)} (expected one of: ${AGENT_NAMES.join(", ")})`,
  );
}
