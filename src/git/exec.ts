/**
 * Running git: one function, the environment cleaned of what would point git elsewhere (a caller's
 * `GIT_DIR`, `GIT_INDEX_FILE`...), a clear error when git is missing.
 *
 * @module
 */
import { DispatchError, NotInstalledError } from "../errors.ts";
import { EXIT } from "../exit_codes.ts";

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface GitOptions {
  /** Working directory (`git -C`). */
  cwd?: string;
  /** Variables set for this call (GIT_DIR, GIT_INDEX_FILE...), over the cleaned environment. */
  env?: Record<string, string>;
  /** Text on standard input. */
  stdin?: string;
}

/**
 * Variables that would make git act on another repository, index or object store than the one a call
 * names. Identity (`GIT_AUTHOR_*`, `GIT_COMMITTER_*`) and config locations (`GIT_CONFIG_GLOBAL`) are the
 * user's choice and stay.
 */
const REDIRECTING = new Set([
  "GIT_DIR",
  "GIT_WORK_TREE",
  "GIT_COMMON_DIR",
  "GIT_INDEX_FILE",
  "GIT_OBJECT_DIRECTORY",
  "GIT_ALTERNATE_OBJECT_DIRECTORIES",
  "GIT_NAMESPACE",
  "GIT_CEILING_DIRECTORIES",
  "GIT_DISCOVERY_ACROSS_FILESYSTEM",
  "GIT_PREFIX",
  "GIT_QUARANTINE_PATH",
  "GIT_REPLACE_REF_BASE",
]);

/** How to install git, shown when it is missing (the one tool `--repo` needs). */
export const GIT_INSTALL_HINT = "git is needed for projects in repositories (--repo): install it " +
  "(Debian/Ubuntu: sudo apt-get install git; Fedora: sudo dnf install git; macOS: xcode-select --install)";

/** The environment git calls get: dispatch-cc's own, less the redirecting variables, never a prompt. */
export function gitEnv(
  parent: Record<string, string>,
  set: Record<string, string> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(parent)) if (!REDIRECTING.has(k)) env[k] = v;
  return { ...env, GIT_TERMINAL_PROMPT: "0", GIT_OPTIONAL_LOCKS: "0", LC_ALL: "C", ...set };
}

/**
 * Runs `git args...` and returns its exit code and output; throws NotInstalledError (127) when git is
 * missing. A failing git is not an exception: callers turn its message into theirs.
 *
 * @example
 * ```ts
 * const r = await git(["rev-parse", "--show-toplevel"], { cwd: "/home/me/repo" });
 * if (r.code === 0) console.log(r.stdout.trim());
 * ```
 */
export async function git(args: string[], opts: GitOptions = {}): Promise<GitResult> {
  let child;
  try {
    child = new Deno.Command("git", {
      args,
      cwd: opts.cwd,
      env: gitEnv(Deno.env.toObject(), opts.env),
      clearEnv: true,
      stdin: opts.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new NotInstalledError(GIT_INSTALL_HINT);
    throw err;
  }
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A git failure dispatch-cc did not expect (exit 70): the command and git's own message. */
export class GitError extends DispatchError {
  constructor(args: string[], r: GitResult) {
    super(
      `git ${args.slice(0, 3).join(" ")} failed: ${firstLine(r.stderr || r.stdout)}`,
      EXIT.internal,
      "git",
    );
  }
}

/** Runs git and returns its stdout; throws GitError when it fails. */
export async function gitOk(args: string[], opts: GitOptions = {}): Promise<string> {
  const r = await git(args, opts);
  if (r.code !== 0) throw new GitError(args, r);
  return r.stdout;
}

/** The first non-empty line of a message, without git's "fatal: " / "error: " prefix. */
export function firstLine(text: string): string {
  const line = text.split("\n").map((l) => l.trim()).find((l) => l !== "") ?? "";
  return line.replace(/^(fatal|error): /, "");
}

/** Whether a failure is git's own lock being held by a concurrent git (worth a retry). */
export function isLockBusy(r: GitResult): boolean {
  return /\.lock'?: File exists|Unable to create '[^']*\.lock'|cannot lock ref|could not lock/i.test(
    r.stderr,
  );
}

/** Runs git, retrying a few times while another git holds one of its locks (never removing a lock). */
export async function gitRetrying(args: string[], opts: GitOptions = {}, tries = 8): Promise<GitResult> {
  for (let i = 1;; i++) {
    const r = await git(args, opts);
    if (r.code === 0 || i >= tries || !isLockBusy(r)) return r;
    await new Promise((res) => setTimeout(res, 50 * 2 ** Math.min(i, 5)));
  }
}

/** The oldest git `merge` works with (`git merge-tree --write-tree`). */
export const GIT_MIN_VERSION = "2.38";

/**
 * Whether git is there and new enough, for `doctor`: its version, and a message saying what to do when not.
 *
 * @example
 * ```ts
 * const g = await checkGit();
 * if (!g.ok) console.log(g.message);
 * ```
 */
export async function checkGit(): Promise<{ ok: boolean; version: string | null; message: string }> {
  let r: GitResult;
  try {
    r = await git(["--version"]);
  } catch {
    return { ok: false, version: null, message: GIT_INSTALL_HINT };
  }
  const version = /(\d+)\.(\d+)(\.\d+)?/.exec(r.stdout)?.[0] ?? null;
  const [major, minor] = (version ?? "0.0").split(".").map(Number);
  const [needMajor, needMinor] = GIT_MIN_VERSION.split(".").map(Number);
  const ok = r.code === 0 && (major > needMajor || major === needMajor && minor >= needMinor);
  return {
    ok,
    version,
    message: ok
      ? `git ${version} (needed for --repo, diff, merge)`
      : `git ${
        version ?? "of unknown version"
      } is older than ${GIT_MIN_VERSION}, which merge needs: update git`,
  };
}
