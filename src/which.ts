/**
 * Finding programs on `PATH` (Claude Code, bwrap, socat), the way a shell does: the first folder that
 * holds an executable file of that name.
 *
 * @module
 */
import { delimiter, join } from "./paths.ts";

/** Is `path` a file this user may execute (any execute bit; modes unknown on Windows count as yes)? */
export async function isExecutableFile(path: string): Promise<boolean> {
  try {
    const st = await Deno.stat(path);
    return st.isFile && (st.mode === null || (st.mode & 0o111) !== 0);
  } catch {
    return false;
  }
}

/**
 * Finds a program on a `PATH` value, or null.
 *
 * @example
 * ```ts
 * const claude = await which("claude", Deno.env.get("PATH"));
 * ```
 */
export async function which(name: string, path: string | undefined): Promise<string | null> {
  for (const dir of (path ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return null;
}
