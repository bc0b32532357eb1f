/**
 * `remove`: a project's folder goes; for a project in a repository, its worktree (through git) and its
 * branch, the branch only when merged or with --force. Refused while a run holds the project's lock.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { join } from "../paths.ts";
import type { ProjectPaths } from "../store/project.ts";
import { changesBetween, snapshotTree } from "./changes.ts";
import { firstLine, git, gitRetrying } from "./exec.ts";
import { adoptPrivateObjects } from "./objects.ts";
import type { RepoProject } from "./repo.ts";

export interface RemoveOutcome {
  slug: string;
  project_dir: string;
  /** For a project in a repository: its branch, and whether the branch was deleted. */
  repo: string | null;
  branch: string | null;
  branch_deleted: boolean;
  /** Why the branch was kept or deleted ("merged", "forced", "no commits of its own"). */
  branch_reason: string | null;
}

/** The branches other than `dispatch/*` that contain `commit` (where its work is merged). */
async function mergedInto(repo: string, commit: string): Promise<string[]> {
  const r = await git(["for-each-ref", "--format=%(refname)", "--contains", commit, "refs/heads/"], {
    cwd: repo,
  });
  return r.stdout.split("\n").filter((l) => l !== "" && !l.startsWith("refs/heads/dispatch/"))
    .map((l) => l.replace(/^refs\/heads\//, ""));
}

/**
 * Removes a project in a repository: refused (UsageError, nothing changed) when its worktree has changes
 * not committed on its branch or the branch is not merged into another branch, unless `force`.
 */
export async function removeRepoProject(
  paths: ProjectPaths,
  p: RepoProject,
  force: boolean,
): Promise<RemoveOutcome> {
  const repoThere = (await git(["rev-parse", "--git-dir"], { cwd: p.repo }).catch(() => null))?.code === 0;
  if (!repoThere) {
    if (!force) {
      throw new UsageError(
        `the repository ${p.repo} of project "${p.slug}" is gone: --force removes the folder`,
      );
    }
    await removePlainFolder(paths);
    return outcome(paths, p, false, "the repository is gone");
  }
  await adoptPrivateObjects(p).catch(() => 0);
  const tip = await git(["rev-parse", "--verify", "--quiet", `refs/heads/${p.branch}`], { cwd: p.repo });
  const branchTip = tip.code === 0 ? tip.stdout.trim() : null;
  let reason: string;
  if (branchTip === null) reason = "already gone";
  else if (branchTip === p.base) reason = "no commits of its own";
  else {
    const where = await mergedInto(p.repo, branchTip);
    reason = where.length ? `merged into ${where.slice(0, 3).join(", ")}` : "";
  }
  if (!force) {
    const uncommitted = branchTip === null ? null : await changesBetween(
      p,
      `${branchTip}^{tree}`,
      await snapshotTree(p, paths.logsDir),
    ).catch(() => null);
    if (uncommitted && uncommitted.files.length > 0) {
      const names = uncommitted.files.map((f) => f.path);
      throw new UsageError(
        `project "${p.slug}" has changes not committed on ${p.branch} (${names.slice(0, 10).join(", ")}${
          names.length > 10 ? ` and ${names.length - 10} more` : ""
        }): merge them (dispatch-cc merge --slug ${p.slug}) or pass --force to lose them`,
      );
    }
    if (reason === "") {
      throw new UsageError(
        `branch ${p.branch} is not merged into any branch: merge it (dispatch-cc merge --slug ${p.slug}) ` +
          `or pass --force to delete it with the project`,
      );
    }
  }
  const rm = await gitRetrying(["worktree", "remove", "--force", "--force", p.worktree], { cwd: p.repo });
  if (rm.code !== 0) {
    // A worktree git no longer knows (moved, pruned): the folder goes, then git forgets it.
    if (!/is not a working tree/.test(rm.stderr)) {
      throw new UsageError(`git could not remove the worktree ${p.worktree}: ${firstLine(rm.stderr)}`);
    }
    await removePlainFolder(paths);
    await git(["worktree", "prune"], { cwd: p.repo });
  }
  let deleted = false;
  if (branchTip !== null) {
    const del = await gitRetrying(["branch", "-D", "--", p.branch], { cwd: p.repo });
    deleted = del.code === 0;
  }
  return outcome(paths, p, deleted, reason || "forced");
}

function outcome(paths: ProjectPaths, p: RepoProject, deleted: boolean, reason: string): RemoveOutcome {
  return {
    slug: paths.slug,
    project_dir: paths.dir,
    repo: p.repo,
    branch: p.branch,
    branch_deleted: deleted,
    branch_reason: reason,
  };
}

/**
 * Removes a plain project folder: first renamed out of the way (a hidden name in the projects folder, so
 * a new run of the slug starts afresh and never writes into a half-removed folder), then deleted.
 */
export async function removePlainFolder(paths: ProjectPaths): Promise<void> {
  const aside = join(paths.dir, "..", `.removing-${paths.slug}-${crypto.randomUUID().slice(0, 8)}`);
  await Deno.rename(paths.dir, aside);
  await Deno.remove(aside, { recursive: true });
}
