/**
 * What `dispatch-cc --version` says: the version, the commit it was built from (baked into a compiled
 * binary; read from git when running from source, if git and the repository are there), how it runs, and
 * the Deno it runs on. Loaded only for `--version` and `doctor`.
 *
 * @module
 */
import { BUILD_COMMIT } from "./build_info.ts";
import { VERSION } from "./version.ts";

/** The version document (`--version --json`, and part of `doctor`). */
export interface VersionInfo {
  dispatch_cc: string;
  /** The commit, or null when unknown (a source tree without git). */
  commit: string | null;
  /** A compiled binary, or `deno run` on the source. */
  build: "binary" | "source";
  deno: string;
  /** The platform, as Deno names it (x86_64-unknown-linux-gnu, aarch64-apple-darwin, ...). */
  target: string;
}

/** What versionInfo needs from its surroundings (passed in for tests). */
export interface VersionDeps {
  standalone: boolean;
  bakedCommit: string | null;
  /** The source folder (null in a binary). */
  sourceRoot: string | null;
  /** `git rev-parse` in that folder, or null when it fails. */
  gitHead(root: string): Promise<string | null>;
}

/** Asks git for the commit of a source folder; null when git is missing or it is not a repository. */
export async function gitHead(root: string): Promise<string | null> {
  try {
    const out = await new Deno.Command("git", {
      args: ["-C", root, "rev-parse", "--short=12", "HEAD"],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    return out.success && /^[0-9a-f]{7,40}$/.test(text) ? text : null;
  } catch {
    return null;
  }
}

const defaults = (): VersionDeps => ({
  standalone: Deno.build.standalone,
  bakedCommit: BUILD_COMMIT,
  sourceRoot: import.meta.dirname ? import.meta.dirname.replace(/[\\/]src$/, "") : null,
  gitHead,
});

/**
 * The version, commit and build of this program.
 *
 * @example
 * ```ts
 * const v = await versionInfo();
 * console.log(versionLine(v)); // dispatch-cc 0.1.0 (commit 1a2b3c4d5e6f, source, deno 2.9.6, x86_64-unknown-linux-gnu)
 * ```
 */
export async function versionInfo(deps: VersionDeps = defaults()): Promise<VersionInfo> {
  let commit = deps.bakedCommit;
  if (!commit && !deps.standalone && deps.sourceRoot) commit = await deps.gitHead(deps.sourceRoot);
  return {
    dispatch_cc: VERSION,
    commit: commit ?? null,
    build: deps.standalone ? "binary" : "source",
    deno: Deno.version.deno,
    target: Deno.build.target,
  };
}

/** The one line `dispatch-cc --version` prints. */
export function versionLine(v: VersionInfo): string {
  return `dispatch-cc ${v.dispatch_cc} (commit ${
    v.commit ?? "unknown"
  }, ${v.build}, deno ${v.deno}, ${v.target})`;
}
