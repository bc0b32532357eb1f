import { isAbsolute, resolve } from "../paths.ts";
import type { Agent } from "../agents/agent.ts";
import type { Config } from "../config.ts";
import { NotInstalledError } from "../errors.ts";
import { isExecutableFile, which } from "../which.ts";

/**
 * An agent's binary: its variable when set (`DISPATCH_CC_BIN` for Claude Code; it must exist), else its
 * name on PATH. Missing is a NotInstalledError (exit 127) with the install command.
 *
 * @example
 * ```ts
 * const bin = await findAgentBin(getAgent("claude"), config);
 * ```
 */
export async function findAgentBin(agent: Agent, config: Config): Promise<string> {
  const set = config.env[agent.binEnv]?.trim() || null;
  if (set) {
    const bin = isAbsolute(set) || set.includes("/")
      ? resolve(config.userCwd, set)
      : await which(set, config.env.PATH);
    if (bin && await isExecutableFile(bin)) return bin;
    throw new NotInstalledError(`${agent.binEnv}=${set} is not an executable file; ${agent.installHint}`);
  }
  const found = await which(agent.binName, config.env.PATH);
  if (found) return found;
  throw new NotInstalledError(`${agent.displayName} CLI not found on PATH; ${agent.installHint}`);
}
