/**
 * Which repositories a model may name with `repo` over MCP. On the command line the caller has a shell
 * and names any repository it can read; over MCP the caller may have only the tools, and `repo` would hand
 * the specialist any repository of the server's user (its history, its files, a new branch in it). So the
 * person who starts the server names the folders (`dispatch-cc mcp --allow-repo DIR`, or
 * `DISPATCH_MCP_REPOS=DIR:DIR`); a `repo` outside them, symlinks resolved, is refused.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { resolve } from "../paths.ts";

/**
 * The allowed folders, resolved: each an existing folder (exit 2 otherwise).
 *
 * @example
 * ```ts
 * await repoRoots(["~/code".replace("~", Deno.env.get("HOME")!)], Deno.cwd()); // ["/home/me/code"]
 * ```
 */
export async function repoRoots(dirs: string[], cwd: string): Promise<string[]> {
  const roots: string[] = [];
  for (const dir of dirs.filter((d) => d !== "")) {
    let real: string;
    try {
      real = await Deno.realPath(resolve(cwd, dir));
    } catch (err) {
      throw new UsageError(`--allow-repo ${dir}: ${(err as Error).message}`);
    }
    if (!(await Deno.stat(real)).isDirectory) throw new UsageError(`--allow-repo ${dir}: not a folder`);
    roots.push(real);
  }
  return roots;
}

/** Refuses a `repo` input that does not lie, symlinks resolved, inside one of `roots`. */
export async function checkRepoInput(repo: string, roots: string[], cwd: string): Promise<void> {
  if (roots.length === 0) {
    throw new UsageError(
      "repo is not allowed over MCP unless the server is started with --allow-repo DIR " +
        "(or DISPATCH_MCP_REPOS=DIR:DIR) naming the folders whose repositories a model may use",
    );
  }
  let real: string;
  try {
    real = await Deno.realPath(resolve(cwd, repo));
  } catch {
    throw new UsageError(`repo ${JSON.stringify(repo)} does not exist`);
  }
  if (!roots.some((r) => real === r || real.startsWith(r.endsWith("/") ? r : r + "/"))) {
    throw new UsageError(
      `repo ${JSON.stringify(repo)} is outside the folders this server allows (${roots.join(", ")})`,
    );
  }
}
