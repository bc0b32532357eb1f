import { delimiter, isAbsolute, join, resolve } from "node:path";
import type { Config } from "../config.ts";
import { NotInstalledError } from "../errors.ts";
import { INSTALL_HINT } from "./claude_code.ts";

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    const st = await Deno.stat(path);
    return st.isFile && (st.mode === null || (st.mode & 0o111) !== 0);
  } catch {
    return false;
  }
}

/** Finds a program on PATH, or null. */
export async function which(name: string, path: string | undefined): Promise<string | null> {
  for (const dir of (path ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return null;
}

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
