/**
 * The runner's two calls for a project in a repository: before the run (the worktree's content, the
 * sandbox's binds), after it (what the run changed).
 *
 * @module
 */
import { join } from "../paths.ts";
import { PROJECT_CONTROL_PATHS } from "../sandbox/bwrap.ts";
import type { ProjectPaths } from "../store/project.ts";
import { type Changes, changesBetween, snapshotTree } from "./changes.ts";
import { git } from "./exec.ts";
import { adoptPrivateObjects } from "./objects.ts";
import { ensureLogsIgnored, readRepoProject, type RepoProject, worktreeEnv } from "./repo.ts";
import { gitSandboxBinds } from "./sandbox.ts";

/** A run in a repository's worktree, begun. */
export interface RepoRun {
  project: RepoProject;
  /** Extra sandbox binds (for `LaunchInput`); empty without the OS sandbox. */
  launch: { extraReadOnly: string[]; extraWritable: string[]; set: Record<string, string> };
  /** What the run changed, from the worktree's content before and now. */
  finish(): Promise<Changes>;
}

/**
 * Before a run: null for a plain project; for a repository project, the worktree's content now and, with
 * the OS sandbox, the binds git needs there. Call it before the sandbox's own preparation, whose
 * placeholder files then are not counted as the run's.
 *
 * @example
 * ```ts
 * const repoRun = await beginRepoRun(paths, { sandboxed: true });
 * // ... plan the launch with repoRun?.launch, run ...
 * record.changes = await repoRun?.finish();
 * ```
 */
export async function beginRepoRun(
  paths: ProjectPaths,
  opts: { sandboxed: boolean },
): Promise<RepoRun | null> {
  const project = await readRepoProject(paths);
  if (!project) return null;
  await ensureLogsIgnored(paths);
  // Objects an earlier sandboxed run left in its own store (it was killed before they were moved).
  await adoptPrivateObjects(project);
  const before = await snapshotTree(project, paths.logsDir);
  const binds = opts.sandboxed ? await gitSandboxBinds(project) : { readOnly: [], writable: [], env: {} };
  return {
    project,
    launch: { extraReadOnly: binds.readOnly, extraWritable: binds.writable, set: binds.env },
    async finish() {
      if (opts.sandboxed) {
        await adoptPrivateObjects(project);
        await removeSandboxPlaceholders(project);
      }
      return await changesBetween(project, before, await snapshotTree(project, paths.logsDir));
    },
  };
}

/**
 * The files the OS sandbox creates in a project so that it can bind them read-only (`.mcp.json`): in a
 * worktree they are not the repository's, so they go again after the run when untracked and unchanged.
 */
export async function removeSandboxPlaceholders(p: RepoProject): Promise<void> {
  for (const c of PROJECT_CONTROL_PATHS) {
    if (c.kind !== "file" || c.content === undefined) continue;
    const path = join(p.worktree, c.name);
    const text = await Deno.readTextFile(path).catch(() => null);
    if (text !== c.content) continue;
    const tracked = await git(["ls-files", "--error-unmatch", "--", c.name], {
      cwd: p.worktree,
      env: worktreeEnv(p),
    });
    if (tracked.code !== 0) await Deno.remove(path).catch(() => {});
  }
}
