/**
 * A sandboxed run's own object store. The repository's `objects/` stays read-only in the sandbox (a
 * writable one would let the specialist delete packs or replace an existing object's file, changing what
 * the user's checkout later gets for that id); git there writes new objects to a folder of the worktree's
 * own (`GIT_OBJECT_DIRECTORY`) and reads the repository's as an alternate. Afterwards dispatch-cc moves
 * them into the repository with `git unpack-objects`, which computes every id from the content and never
 * replaces an object that exists.
 *
 * @module
 */
import { join } from "../paths.ts";
import { firstLine, gitEnv, GitError } from "./exec.ts";
import type { RepoProject } from "./repo.ts";

/** The worktree's private object folder (inside its own git folder, which the sandbox keeps writable). */
export function privateObjects(p: RepoProject): string {
  return join(p.gitDir, "dispatch-objects");
}

/** The environment that makes git in the sandbox write objects there and read the repository's too. */
export function privateObjectsEnv(p: RepoProject): Record<string, string> {
  return {
    GIT_OBJECT_DIRECTORY: privateObjects(p),
    GIT_ALTERNATE_OBJECT_DIRECTORIES: join(p.commonDir, "objects"),
  };
}

/**
 * Moves the objects of the private store into the repository's and empties it. Safe to call at any time
 * (before a run, after it, before merge or remove: a run that was killed leaves its objects there).
 */
export async function adoptPrivateObjects(p: RepoProject): Promise<number> {
  const store = privateObjects(p);
  if (!(await Deno.stat(store).then((s) => s.isDirectory, () => false))) return 0;
  // Alternates the specialist may have listed there are not the run's objects.
  await Deno.remove(join(store, "info", "alternates")).catch(() => {});
  const onlyPrivate = { GIT_DIR: p.gitDir, GIT_COMMON_DIR: p.commonDir, GIT_OBJECT_DIRECTORY: store };
  const list = await run(["cat-file", "--batch-all-objects", "--batch-check=%(objectname)"], onlyPrivate);
  const ids = new TextDecoder().decode(list).split("\n").filter((l) => /^[0-9a-f]{40,64}$/.test(l));
  if (ids.length > 0) {
    // A self-contained pack of them (read from the private store), unpacked into the repository's.
    const pack = await run(["pack-objects", "--stdout", "-q"], onlyPrivate, ids.join("\n") + "\n");
    await run(["unpack-objects", "-q"], { GIT_DIR: p.gitDir, GIT_COMMON_DIR: p.commonDir }, pack);
  }
  for await (const e of Deno.readDir(store)) {
    await Deno.remove(join(store, e.name), { recursive: true }).catch(() => {});
  }
  return ids.length;
}

async function run(
  args: string[],
  env: Record<string, string>,
  stdin?: string | Uint8Array,
): Promise<Uint8Array> {
  const child = new Deno.Command("git", {
    args: ["-c", "core.fsmonitor=false", ...args],
    env: gitEnv(Deno.env.toObject(), env),
    clearEnv: true,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(typeof stdin === "string" ? new TextEncoder().encode(stdin) : stdin);
    await w.close();
  }
  const out = await child.output();
  if (out.code !== 0) {
    const stderr = new TextDecoder().decode(out.stderr);
    throw new GitError(args, { code: out.code, stdout: "", stderr: firstLine(stderr) });
  }
  return out.stdout;
}
