/**
 * What a run changed in a worktree, from git: the worktree's content as a tree object before and after
 * (through a temporary index, so neither the worktree's index nor the user's checkout is touched), and
 * the file-by-file difference of the two trees.
 *
 * @module
 */
import { join } from "../paths.ts";
import { gitOk } from "./exec.ts";
import { type RepoProject, worktreeEnv } from "./repo.ts";

/** One file a run (or a branch) added, modified or deleted; paths relative to the worktree. */
export interface FileChange {
  path: string;
  status: "added" | "modified" | "deleted";
  insertions: number;
  deletions: number;
  /** A binary file: git counts no lines. */
  binary?: true;
}

/** `changes` of a run record, and the files of `diff --json`. */
export interface Changes {
  files: FileChange[];
  insertions: number;
  deletions: number;
}

/**
 * Paths of dispatch-cc's own that are never content: its logs folder (also ignored through its own
 * `.gitignore`, this is for a project whose `.gitignore` there was removed).
 */
export const OWN_PATHSPEC = [":(exclude,top).dispatch-logs"];

/**
 * The worktree's content now (tracked and untracked files, less ignored ones and dispatch-cc's own) as a
 * tree object id. Writes blobs to the object store (unreferenced ones are pruned by git's gc) and a
 * temporary index in `.dispatch-logs/`, nothing else.
 *
 * @example
 * ```ts
 * const before = await snapshotTree(project, logsDir);
 * // ... the run ...
 * const changes = await changesBetween(project, before, await snapshotTree(project, logsDir));
 * ```
 */
export async function snapshotTree(p: RepoProject, logsDir: string): Promise<string> {
  const index = join(logsDir, `.snapshot-${crypto.randomUUID()}.index`);
  try {
    // Starting from a copy of the worktree's index reuses its file stats: only changed files are read.
    await Deno.copyFile(join(p.gitDir, "index"), index).catch(() => {});
    const env = worktreeEnv(p, { GIT_INDEX_FILE: index });
    const cfg = ["-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null"];
    await gitOk([...cfg, "add", "--all", "--", ".", ...OWN_PATHSPEC], { cwd: p.worktree, env });
    return (await gitOk([...cfg, "write-tree"], { cwd: p.worktree, env })).trim();
  } finally {
    await Deno.remove(index).catch(() => {});
    await Deno.remove(index + ".lock").catch(() => {});
  }
}

/** The file-by-file difference between two trees (or commits), sorted by path. */
export async function changesBetween(p: RepoProject, from: string, to: string): Promise<Changes> {
  const env = worktreeEnv(p);
  const base = ["-c", "core.fsmonitor=false", "diff-tree", "-r", "--no-renames", "-z"];
  const [names, counts] = await Promise.all([
    gitOk([...base, "--name-status", from, to, "--"], { env, cwd: p.worktree }),
    gitOk([...base, "--numstat", from, to, "--"], { env, cwd: p.worktree }),
  ]);
  return parseChanges(names, counts);
}

/** `git diff-tree -z --name-status` and `--numstat` output, joined. Pure. */
export function parseChanges(nameStatus: string, numstat: string): Changes {
  const counts = new Map<string, { ins: number; del: number; binary: boolean }>();
  // With -z and no rename detection each record is "<ins>\t<del>\t<path>" ("-" counts: binary).
  for (const field of numstat.split("\0")) {
    const m = /^(-|\d+)\t(-|\d+)\t(.+)$/s.exec(field);
    if (!m) continue;
    const binary = m[1] === "-";
    counts.set(m[3], { ins: binary ? 0 : Number(m[1]), del: binary ? 0 : Number(m[2]), binary });
  }
  const files: FileChange[] = [];
  const fields = nameStatus.split("\0");
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const code = fields[i];
    const path = fields[i + 1];
    if (!code) break;
    const c = counts.get(path) ?? { ins: 0, del: 0, binary: false };
    files.push({
      path,
      status: code.startsWith("A") ? "added" : code.startsWith("D") ? "deleted" : "modified",
      insertions: c.ins,
      deletions: c.del,
      ...(c.binary ? { binary: true as const } : {}),
    });
  }
  files.sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  return {
    files,
    insertions: files.reduce((n, f) => n + f.insertions, 0),
    deletions: files.reduce((n, f) => n + f.deletions, 0),
  };
}
