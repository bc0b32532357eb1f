/**
 * Projects in existing repositories: checking `--repo PATH [--base REF]`, creating the project folder as
 * a git worktree on its own branch, and reading back what project.json records about it.
 *
 * @module
 */
import { NotFoundError, UsageError } from "../errors.ts";
import { basename, isAbsolute, join, resolve } from "../paths.ts";
import { writeJsonAtomic, writeTextAtomic } from "../store/atomic.ts";
import { type ProjectMeta, type ProjectPaths, readProjectMeta, utcStamp } from "../store/project.ts";
import { firstLine, git, gitOk, gitRetrying } from "./exec.ts";

/** The branch of a project's worktree. */
export function branchFor(slug: string): string {
  return `dispatch/${slug}`;
}

/** A repository and starting point, checked: what a new worktree needs. */
export interface RepoTarget {
  /** The top folder of the checkout at PATH (absolute, real). */
  repo: string;
  /** Its `$GIT_COMMON_DIR` (absolute). */
  commonDir: string;
  /** The commit the branch starts at. */
  base: string;
  /** REF as given (default "HEAD"). */
  baseRef: string;
  branch: string;
}

/** What project.json records about a project in a repository (additive fields). */
export interface RepoProject {
  slug: string;
  /** The worktree: the project folder. */
  worktree: string;
  repo: string;
  base: string;
  baseRef: string;
  branch: string;
  /** The worktree's own git folder (`<common>/worktrees/<name>`). */
  gitDir: string;
  commonDir: string;
}

/**
 * Checks PATH and REF without writing anything: a git checkout (not bare) with at least one commit, REF a
 * commit in it, the branch `dispatch/<slug>` a valid name that does not exist yet. Throws UsageError (2).
 */
export async function resolveRepo(
  path: string,
  base: string | undefined,
  slug: string,
  cwd: string,
): Promise<RepoTarget> {
  const abs = resolve(cwd, path);
  const stat = await Deno.stat(abs).catch(() => null);
  if (!stat?.isDirectory) throw new UsageError(`--repo ${path}: no such folder`);
  const top = await git(["rev-parse", "--show-toplevel"], { cwd: abs });
  if (top.code !== 0) {
    const bare = await git(["rev-parse", "--is-bare-repository"], { cwd: abs });
    throw new UsageError(
      bare.code === 0 && bare.stdout.trim() === "true"
        ? `--repo ${path} is a bare repository: give a checkout (a folder with a working tree)`
        : `--repo ${path} is not a git repository (${firstLine(top.stderr)})`,
    );
  }
  const repo = await Deno.realPath(top.stdout.replace(/\n$/, ""));
  const common = (await gitOk(["rev-parse", "--path-format=absolute", "--git-common-dir"], { cwd: repo }))
    .replace(/\n$/, "");
  const head = await git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], { cwd: repo });
  if (head.code !== 0) {
    throw new UsageError(`--repo ${path} has no commit yet: commit something first, then run again`);
  }
  const baseRef = base ?? "HEAD";
  if (baseRef === "" || baseRef.startsWith("-")) {
    throw new UsageError(`--base ${baseRef}: not a git revision`);
  }
  const resolved = await git(
    ["rev-parse", "--verify", "--quiet", "--end-of-options", `${baseRef}^{commit}`],
    {
      cwd: repo,
    },
  );
  if (resolved.code !== 0) {
    throw new UsageError(`--base ${baseRef}: no such commit, branch or tag in ${repo}`);
  }
  const branch = branchFor(slug);
  const valid = await git(["check-ref-format", "--branch", branch], { cwd: repo });
  if (valid.code !== 0) {
    throw new UsageError(`slug "${slug}" cannot name a git branch (${branch}): choose another slug`);
  }
  await refuseExistingBranch(repo, branch);
  return { repo, commonDir: await Deno.realPath(common), base: resolved.stdout.trim(), baseRef, branch };
}

/** A branch `dispatch/<slug>` that exists already belongs to something else: refused, saying where. */
async function refuseExistingBranch(repo: string, branch: string): Promise<void> {
  const exists = await git(["show-ref", "--verify", "--quiet", `refs/heads/${branch}`], { cwd: repo });
  if (exists.code !== 0) return;
  const where = await worktreeOf(repo, branch);
  const gone = where !== null && !(await Deno.lstat(where).then(() => true, () => false));
  throw new UsageError(
    where
      ? `branch ${branch} already exists in ${repo}, checked out in ${where}` +
        (gone
          ? ` (that folder is gone: git worktree prune, then git branch -D ${branch}, or choose another slug)`
          : ": choose another slug")
      : `branch ${branch} already exists in ${repo}: choose another slug, or delete it (git branch -D ${branch})`,
  );
}

/** The real path of `path`, or of its nearest existing parent with the rest appended. */
async function realPathOfExisting(path: string): Promise<string> {
  const abs = resolve(path);
  try {
    return await Deno.realPath(abs);
  } catch {
    const parent = resolve(abs, "..");
    return parent === abs ? abs : join(await realPathOfExisting(parent), basename(abs));
  }
}

/** The worktree that has `branch` checked out, or null. */
export async function worktreeOf(repo: string, branch: string): Promise<string | null> {
  const list = await git(["worktree", "list", "--porcelain", "-z"], { cwd: repo });
  let path: string | null = null;
  for (const field of list.stdout.split("\0")) {
    if (field.startsWith("worktree ")) path = field.slice(9);
    else if (field === `branch refs/heads/${branch}`) return path;
  }
  return null;
}

/**
 * Creates the project folder as a worktree of `target.repo` on a new branch, marks `.dispatch-logs/` as
 * ignored inside it (its own `.gitignore` of `*`: nothing of dispatch-cc's shows in `git status` or
 * gets committed by `git add -A`, in this worktree only) and records repo, base and branch in
 * project.json. The user's checkout is not touched: `git worktree add` writes only the new folder, the
 * branch and `<common>/worktrees/<name>/`.
 */
export async function createWorktree(
  paths: ProjectPaths,
  target: RepoTarget,
  opts: { description?: string; now: Date },
): Promise<RepoProject> {
  await Deno.mkdir(join(paths.dir, ".."), { recursive: true });
  const add = await gitRetrying(
    ["worktree", "add", "--quiet", "-b", target.branch, "--", paths.dir, target.base],
    { cwd: target.repo },
  );
  if (add.code !== 0) {
    throw new UsageError(`could not create the worktree ${paths.dir}: ${firstLine(add.stderr)}`);
  }
  const gitDir = (await gitOk(["rev-parse", "--path-format=absolute", "--git-dir"], { cwd: paths.dir }))
    .replace(/\n$/, "");
  await ensureLogsIgnored(paths);
  const project: RepoProject = {
    slug: paths.slug,
    worktree: paths.dir,
    repo: target.repo,
    base: target.base,
    baseRef: target.baseRef,
    branch: target.branch,
    gitDir: await Deno.realPath(gitDir),
    commonDir: target.commonDir,
  };
  const stamp = utcStamp(opts.now);
  const meta: ProjectMeta = {
    slug: paths.slug,
    description: opts.description?.trim() ?? "",
    created: stamp,
    updated: stamp,
    ...repoFields(project),
  };
  await writeJsonAtomic(paths.projectJson, meta);
  return project;
}

/** `.dispatch-logs/.gitignore` holding `*`: git then ignores the folder and everything in it. */
export async function ensureLogsIgnored(paths: ProjectPaths): Promise<void> {
  await Deno.mkdir(paths.logsDir, { recursive: true });
  const file = join(paths.logsDir, ".gitignore");
  const now = await Deno.readTextFile(file).catch(() => null);
  if (now !== "*\n") await writeTextAtomic(file, "*\n");
}

/** The project.json fields of a repository project. */
export function repoFields(p: RepoProject): Record<string, string> {
  return {
    repo: p.repo,
    base: p.base,
    base_ref: p.baseRef,
    branch: p.branch,
    git_dir: p.gitDir,
    git_common_dir: p.commonDir,
  };
}

/**
 * What project.json says about a project's repository, or null for a plain project. Fields that do not
 * fit (a branch other than `dispatch/<slug>`, relative paths) make it null too: a damaged project.json
 * must not point git at something else.
 */
export function repoProjectOf(paths: ProjectPaths, meta: ProjectMeta | null): RepoProject | null {
  if (!meta) return null;
  const s = (k: string) => typeof meta[k] === "string" ? meta[k] as string : null;
  const repo = s("repo"), base = s("base"), branch = s("branch"), gitDir = s("git_dir");
  const commonDir = s("git_common_dir");
  if (!repo || !base || !branch || !gitDir || !commonDir) return null;
  if (![repo, gitDir, commonDir].every(isAbsolute) || branch !== branchFor(paths.slug)) return null;
  if (!/^[0-9a-f]{40,64}$/.test(base) || !gitDir.startsWith(join(commonDir, "worktrees") + "/")) return null;
  return {
    slug: paths.slug,
    worktree: paths.dir,
    repo,
    base,
    baseRef: s("base_ref") ?? base,
    branch,
    gitDir,
    commonDir,
  };
}

/** Reads a project's repository fields; null for a plain project. */
export async function readRepoProject(paths: ProjectPaths): Promise<RepoProject | null> {
  return repoProjectOf(paths, (await readProjectMeta(paths)).meta);
}

/** A project that must be in a repository (diff, merge): not found (3) or not a repository project (2). */
export async function requireRepoProject(paths: ProjectPaths, projectsDir: string): Promise<RepoProject> {
  const stat = await Deno.stat(paths.dir).catch(() => null);
  if (!stat?.isDirectory) throw new NotFoundError(`no project "${paths.slug}" in ${projectsDir}`);
  const project = await readRepoProject(paths);
  if (!project) {
    throw new UsageError(`project "${paths.slug}" is not in a repository (it was not started with --repo)`);
  }
  return project;
}

/**
 * The environment that points git at a project's worktree explicitly: its own git folder and the
 * repository's common folder from project.json, never the `.git` file in the worktree (which the
 * specialist can rewrite without the sandbox, to point git at a config of its own).
 */
export function worktreeEnv(p: RepoProject, extra: Record<string, string> = {}): Record<string, string> {
  return { GIT_DIR: p.gitDir, GIT_COMMON_DIR: p.commonDir, GIT_WORK_TREE: p.worktree, ...extra };
}

/**
 * Before a `run --repo`: the project is created as a worktree, or, when it exists, must be a worktree of
 * the same repository. Returns the project; throws UsageError (2) with nothing created on bad input.
 */
export async function ensureRepoProject(
  paths: ProjectPaths,
  opts: {
    repo: string;
    base?: string;
    cwd: string;
    description?: string;
    now: Date;
    warn: (m: string) => void;
    /** Only check (--dry-run): nothing is created. */
    checkOnly?: boolean;
  },
): Promise<RepoProject | RepoTarget> {
  const existing = await Deno.lstat(paths.dir).catch(() => null);
  if (existing) {
    await awaitProjectMeta(paths);
    return await existingRepoProject(paths, opts);
  }
  try {
    const target = await resolveRepo(opts.repo, opts.base, paths.slug, opts.cwd);
    const projects = await realPathOfExisting(join(paths.dir, ".."));
    if (projects === target.repo || projects.startsWith(target.repo + "/")) {
      throw new UsageError(
        `the projects folder ${projects} is inside the repository ${target.repo}: its worktrees would show ` +
          "in your checkout; set DISPATCH_PROJECTS_DIR to a folder outside it",
      );
    }
    if (opts.checkOnly) return target;
    return await createWorktree(paths, target, opts);
  } catch (err) {
    // Two runs of one new slug at once: the other one created it first (its project.json follows the
    // worktree); go on as with an existing project, whose lock then decides.
    if (await Deno.lstat(paths.dir).then(() => true, () => false)) {
      await awaitProjectMeta(paths);
      if (await readRepoProject(paths).catch(() => null)) return await existingRepoProject(paths, opts);
    }
    throw err;
  }
}

/**
 * Another run of the same new slug is creating its worktree (the folder is there, its project.json not
 * yet): wait for that, bounded (a loaded machine can take seconds between `git worktree add` and the
 * write), so that the project's lock decides between the two runs, never a half-made folder.
 */
async function awaitProjectMeta(paths: ProjectPaths): Promise<void> {
  const there = (p: string) => Deno.lstat(p).then(() => true, () => false);
  for (let i = 0; i < 600 && await there(paths.dir) && !(await there(paths.projectJson)); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function existingRepoProject(
  paths: ProjectPaths,
  opts: { repo: string; base?: string; cwd: string; warn: (m: string) => void },
): Promise<RepoProject> {
  const project = await readRepoProject(paths);
  const abs = resolve(opts.cwd, opts.repo);
  const top = await git(["rev-parse", "--show-toplevel"], { cwd: abs }).catch(() => null);
  const repo = top?.code === 0 ? await Deno.realPath(top.stdout.replace(/\n$/, "")).catch(() => abs) : abs;
  if (!project) {
    throw new UsageError(
      `project "${paths.slug}" already exists and is not in a repository: choose another slug for --repo`,
    );
  }
  if (project.repo !== repo) {
    throw new UsageError(
      `project "${paths.slug}" is a worktree of ${project.repo}, not of ${repo}: choose another slug`,
    );
  }
  if (opts.base !== undefined && opts.base !== project.baseRef) {
    opts.warn(
      `project "${paths.slug}" exists (branch ${project.branch} from ${project.baseRef}); --base ignored`,
    );
  }
  return project;
}
