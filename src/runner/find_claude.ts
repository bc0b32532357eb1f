import { isAbsolute, resolve } from "../paths.ts";
import type { Config } from "../config.ts";
import { NotInstalledError } from "../errors.ts";
import { isExecutableFile, which } from "../which.ts";
import { INSTALL_HINT } from "./claude_code.ts";

/**
 * The Claude Code binary: $DISPATCH_CC_BIN when set (it must exist), else `claude` on PATH. Missing is
 * a NotInstalledError (exit 127) with the install command.
 */
export async function findClaude(config: Config): Promise<string> {
  if (config.claudeBin) {
    const bin = isAbsolute(config.claudeBin) || config.claudeBin.includes("/")
      ? resolve(config.userCwd, config.claudeBin)
      : await which(config.claudeBin, config.env.PATH);
    if (bin && await isExecutableFile(bin)) return bin;
    throw new NotInstalledError(
      `DISPATCH_CC_BIN=${config.claudeBin} is not an executable file; ${INSTALL_HINT}`,
    );
  }
  const found = await which("claude", config.env.PATH);
  if (found) return found;
  throw new NotInstalledError(`Claude Code CLI not found on PATH; ${INSTALL_HINT}`);
}
