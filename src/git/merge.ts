/**
 * `merge`: commit what the worktree has not committed on the project's branch, then bring the branch
 * into the branch checked out at the repository (fast-forward, else a merge commit). Everything is
 * worked out first with objects only (a tree of the worktree, `commit-tree`, `merge-tree`); refs and the
 * user's checkout change only once it is known to succeed, so a refusal changes nothing.
 *
 * @module
 */
import { MergeRefusedError, UsageError } from "../errors.ts";
import { join } from "../paths.ts";
import { type Changes, changesBetween, snapshotTree } from "./changes.ts";
import { firstLine, git, GIT_MIN_VERSION, gitOk, gitRetrying } from "./exec.ts";
import { adoptPrivateObjects } from "./objects.ts";
import { type RepoProject, worktreeEnv } from "./repo.ts";

export interface MergeOutcome extends Changes {
  slug: string;
  repo: string;
  branch: string;
  /** The branch merged into (checked out at the repository). */
  into: string;
  /** "fast-forward", "merge-commit", or "up-to-date" (nothing to merge). */
  merge: "fast-forward" | "merge-commit" | "up-to-date";
  /** The commit made of the worktree's uncommitted changes, or null when there were none. */
  committed: string | null;
  /** The head of `into` after the merge. */
  commit: string;
}

const NO_HOOKS = ["-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null"];

/** Files listed by `git status --porcelain=v1 -z` (the second path of a rename is skipped). */
function porcelainPaths(out: string): string[] {
  const fields = out.split("\0");
  const paths: string[] = [];
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    if (f.length < 4) continue;
    paths.push(f.slice(3));
    if (f[0] === "R" || f[0] === "C") i++;
  }
  return paths;
}

function listFiles(files: string[]): string {
  return files.slice(0, 10).join(", ") + (files.length > 10 ? ` and ${files.length - 10} more` : "");
}

/** The user's identity for commits, or a UsageError saying how to set one (never one git makes up). */
async function checkIdentity(repo: string): Promise<void> {
  for (const v of ["GIT_AUTHOR_IDENT", "GIT_COMMITTER_IDENT"]) {
    const r = await git(["-c", "user.useConfigOnly=true", "var", v], { cwd: repo });
    if (r.code !== 0) {
      throw new UsageError(
        'no git identity to commit with: set one with git config --global user.name "Your Name" and ' +
          "git config --global user.email you@example.com (or in the repository), then merge again",
      );
    }
  }
}

async function commitTree(repo: string, tree: string, parents: string[], message: string): Promise<string> {
  await checkIdentity(repo);
  const args = ["-c", "user.useConfigOnly=true", "commit-tree", tree, ...parents.flatMap((p) => ["-p", p])];
  return (await gitOk(args, { cwd: repo, stdin: message.endsWith("\n") ? message : message + "\n" })).trim();
}

/**
 * Merges the project. Throws MergeRefusedError (exit 9) when the checkout has modified tracked files, the
 * merge would conflict or would overwrite untracked files; UsageError (2) for a checkout on no branch or
 * no identity. Call it with the project's lock held (no run writes the worktree meanwhile).
 */
export async function mergeProject(
  p: RepoProject,
  opts: { logsDir: string; message?: string; description?: string },
): Promise<MergeOutcome> {
  for (let attempt = 1;; attempt++) {
    try {
      return await mergeOnce(p, opts);
    } catch (err) {
      // The checkout's branch moved between the plan and the fast-forward (another merge): plan again.
      if (err instanceof BranchMoved && attempt < 4) continue;
      throw err instanceof BranchMoved ? new UsageError(err.message) : err;
    }
  }
}

class BranchMoved extends Error {}

async function mergeOnce(
  p: RepoProject,
  opts: { logsDir: string; message?: string; description?: string },
): Promise<MergeOutcome> {
  const repo = p.repo;
  // Commits a killed sandboxed run left in the worktree's own object store.
  await adoptPrivateObjects(p);
  const head = await git(["symbolic-ref", "--quiet", "HEAD"], { cwd: repo });
  if (head.code !== 0) {
    throw new UsageError(
      `the checkout at ${repo} is on no branch (detached HEAD): check out the branch to merge into`,
    );
  }
  const intoRef = head.stdout.trim();
  const into = intoRef.replace(/^refs\/heads\//, "");
  if (into === p.branch) throw new UsageError(`the checkout at ${repo} has ${p.branch} itself checked out`);
  const wtHead = await git(["symbolic-ref", "--quiet", "HEAD"], { cwd: p.worktree, env: worktreeEnv(p) });
  if (wtHead.stdout.trim() !== `refs/heads/${p.branch}`) {
    throw new UsageError(
      `the worktree ${p.worktree} is not on its branch ${p.branch}: check it out there first`,
    );
  }

  const dirty = porcelainPaths(
    await gitOk(["status", "--porcelain=v1", "-z", "--untracked-files=no"], { cwd: repo }),
  );
  const inProgress = await git(["rev-parse", "--quiet", "--verify", "MERGE_HEAD"], { cwd: repo });
  if (dirty.length > 0 || inProgress.code === 0) {
    throw new MergeRefusedError(
      dirty.length > 0
        ? `the checkout at ${repo} has uncommitted changes to ${
          listFiles(dirty)
        }: commit or stash them, then merge again`
        : `the checkout at ${repo} is in the middle of a merge: finish or abort it, then merge again`,
      "dirty_checkout",
      dirty,
    );
  }

  const ours = (await gitOk(["rev-parse", "--verify", intoRef], { cwd: repo })).trim();
  const tip = (await gitOk(["rev-parse", "--verify", `refs/heads/${p.branch}`], { cwd: repo })).trim();
  const tree = await snapshotTree(p, opts.logsDir);
  const tipTree = (await gitOk(["rev-parse", `${tip}^{tree}`], { cwd: repo })).trim();
  let committed: string | null = null;
  let theirs = tip;
  if (tree !== tipTree) {
    const message = opts.message?.trim() ||
      `${
        opts.description?.trim() || `Work on ${p.slug}`
      }\n\nCommitted by dispatch-cc merge (project ${p.slug}).`;
    theirs = committed = await commitTree(repo, tree, [tip], message);
  }

  let target: string;
  let merge: MergeOutcome["merge"];
  if ((await git(["merge-base", "--is-ancestor", theirs, ours], { cwd: repo })).code === 0) {
    target = ours;
    merge = "up-to-date";
  } else if ((await git(["merge-base", "--is-ancestor", ours, theirs], { cwd: repo })).code === 0) {
    target = theirs;
    merge = "fast-forward";
  } else {
    const mt = await git(["merge-tree", "--write-tree", "--name-only", "--no-messages", ours, theirs], {
      cwd: repo,
    });
    const lines = mt.stdout.split("\n").filter((l) => l !== "");
    if (mt.code === 1) {
      const files = [...new Set(lines.slice(1))];
      throw new MergeRefusedError(
        `merging ${p.branch} into ${into} would conflict in ${listFiles(files)}: nothing was changed; ` +
          `resolve it by hand (git merge ${p.branch} in ${repo}) or resume the project on a new base`,
        "merge_conflict",
        files,
      );
    }
    if (mt.code !== 0) {
      throw new UsageError(
        `git merge-tree failed: ${firstLine(mt.stderr)}` +
          (/usage|unknown option/i.test(mt.stderr) ? ` (merge needs git ${GIT_MIN_VERSION} or later)` : ""),
      );
    }
    target = await commitTree(repo, lines[0], [ours, theirs], `Merge branch '${p.branch}'`);
    merge = "merge-commit";
  }

  if (target !== ours) {
    // Files the merge adds where the checkout has an untracked (or ignored) file: refused, not overwritten.
    const added = (await gitOk(
      ["diff-tree", "-r", "-z", "--name-only", "--no-renames", "--diff-filter=A", ours, target],
      {
        cwd: repo,
      },
    )).split("\0").filter((f) => f !== "");
    const inTheWay: string[] = [];
    for (const f of added) {
      if (await Deno.lstat(join(repo, f)).then(() => true, () => false)) inTheWay.push(f);
    }
    if (inTheWay.length > 0) {
      throw new MergeRefusedError(
        `the merge would overwrite untracked files in ${repo}: ${
          listFiles(inTheWay)
        }: move them away, then merge again`,
        "would_overwrite",
        inTheWay,
      );
    }
    const ff = await gitRetrying(["merge", "--ff-only", "--quiet", target], { cwd: repo });
    if (ff.code !== 0) {
      const now = (await gitOk(["rev-parse", "--verify", intoRef], { cwd: repo })).trim();
      if (now !== ours) throw new BranchMoved(`${into} moved during the merge; merge again`);
      throw new MergeRefusedError(
        `git refused the merge in ${repo}: ${firstLine(ff.stderr)}`,
        "merge_refused",
        [],
      );
    }
  }
  if (committed) {
    // The branch gets the commit of the worktree's changes (only if it is still where it was), and the
    // worktree's index follows, so that its `git status` is clean.
    await gitOk(["update-ref", "-m", "dispatch-cc merge: commit", `refs/heads/${p.branch}`, committed, tip], {
      cwd: repo,
    });
    await gitOk([...NO_HOOKS, "read-tree", committed], { cwd: p.worktree, env: worktreeEnv(p) });
  }
  const changes = await changesBetween(p, ours, target);
  return { slug: p.slug, repo, branch: p.branch, into, merge, committed, commit: target, ...changes };
}
