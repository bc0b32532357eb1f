/**
 * A project's changes against its base: what is committed on its branch plus what is not yet committed
 * in its worktree (untracked files included, ignored ones and dispatch-cc's own not).
 *
 * @module
 */
import { type Changes, changesBetween, snapshotTree } from "./changes.ts";
import { gitOk } from "./exec.ts";
import { type RepoProject, worktreeEnv } from "./repo.ts";

/** `diff --json`. */
export interface ProjectDiff extends Changes {
  slug: string;
  repo: string;
  base: string;
  branch: string;
}

/** The project's file changes against its base. */
export async function projectChanges(p: RepoProject, logsDir: string): Promise<ProjectDiff> {
  const changes = await changesBetween(p, p.base, await snapshotTree(p, logsDir));
  return { slug: p.slug, repo: p.repo, base: p.base, branch: p.branch, ...changes };
}

/**
 * The unified diff as `git diff` prints it (`--stat`: its summary instead), of the base against the
 * worktree's content now.
 */
export async function projectDiffText(p: RepoProject, logsDir: string, stat: boolean): Promise<string> {
  const tree = await snapshotTree(p, logsDir);
  return await gitOk(
    [
      "-c",
      "core.fsmonitor=false",
      "diff",
      "--no-color",
      "--no-ext-diff",
      ...(stat ? ["--stat"] : []),
      p.base,
      tree,
      "--",
    ],
    { cwd: p.worktree, env: worktreeEnv(p) },
  );
}
