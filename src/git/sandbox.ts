/**
 * What the OS sandbox must open of a repository for a run in one of its worktrees: git there commits on
 * the project's branch, and nothing else of the repository's `.git` is writable (its config and hooks
 * above all: a hook planted there would run in the user's own checkout).
 *
 * @module
 */
import { join } from "../paths.ts";
import { privateObjects, privateObjectsEnv } from "./objects.ts";
import type { RepoProject } from "./repo.ts";

/** Extra paths for the sandbox plan: bound read-only or writable over the read-only root. */
export interface GitBinds {
  readOnly: string[];
  writable: string[];
  /** Variables for the specialist's environment (where git there writes objects). */
  env: Record<string, string>;
}

/**
 * The binds of a worktree's run. Writable: the worktree's own git folder (its index, HEAD, logs, and
 * the run's own object store: {@linkcode privateObjectsEnv}), and the folders of the `dispatch/` branches and their logs (a ref is written as a
 * `.lock` file beside it, then renamed). Read-only on top: the whole common folder (visible even under
 * a private /tmp), the files that say where the repository is (the worktree's `.git`, `commondir`,
 * `gitdir`, `config.worktree`: rewritten, they would point git at a config of the specialist's) and
 * every other `dispatch/` branch (a bind mount cannot be renamed over or removed).
 *
 * Creates what must exist to be bound (the two `dispatch` folders, an empty `config.worktree`, which
 * git reads only when the repository enables per-worktree config).
 */
export async function gitSandboxBinds(p: RepoProject): Promise<GitBinds> {
  const refsDir = join(p.commonDir, "refs", "heads", "dispatch");
  const logsDir = join(p.commonDir, "logs", "refs", "heads", "dispatch");
  await Deno.mkdir(refsDir, { recursive: true });
  await Deno.mkdir(logsDir, { recursive: true });
  await Deno.mkdir(join(privateObjects(p), "info"), { recursive: true });
  await Deno.mkdir(join(privateObjects(p), "pack"), { recursive: true });
  const worktreeConfig = join(p.gitDir, "config.worktree");
  await Deno.writeTextFile(worktreeConfig, "", { createNew: true }).catch((err) => {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
  });
  const own = p.branch.slice("dispatch/".length);
  const others: string[] = [];
  for await (const e of Deno.readDir(refsDir)) {
    if (e.name !== own && !e.name.endsWith(".lock")) others.push(join(refsDir, e.name));
  }
  return {
    readOnly: [
      p.commonDir,
      join(p.worktree, ".git"),
      join(p.gitDir, "commondir"),
      join(p.gitDir, "gitdir"),
      worktreeConfig,
      ...others.sort(),
    ],
    // Objects go to the worktree's own store (inside p.gitDir), moved into the repository after the run.
    writable: [p.gitDir, refsDir, logsDir],
    env: privateObjectsEnv(p),
  };
}
