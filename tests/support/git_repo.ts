/** Real git repositories for tests: made in a temp folder, with a local identity unless asked not to. */
import { join } from "node:path";

export async function gitIn(cwd: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("git", {
    args,
    cwd,
    env: { GIT_CONFIG_NOSYSTEM: "1", HOME: cwd },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (out.code !== 0) throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return text;
}

/** A repository at `dir` on branch main with `files` committed (nothing committed when `files` is null). */
export async function makeRepo(
  dir: string,
  files: Record<string, string> | null = { "README.md": "# demo\n", "app.py": "print('v1')\n" },
  opts: { identity?: boolean } = {},
): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  await gitIn(dir, "init", "-q", "-b", "main");
  if (opts.identity !== false) {
    await gitIn(dir, "config", "user.name", "Test User");
    await gitIn(dir, "config", "user.email", "test@example.com");
  }
  if (files) {
    for (const [name, text] of Object.entries(files)) {
      await Deno.mkdir(join(dir, name, ".."), { recursive: true });
      await Deno.writeTextFile(join(dir, name), text);
    }
    await gitIn(dir, "add", "-A");
    await gitIn(dir, "-c", "user.name=T", "-c", "user.email=t@e", "commit", "-q", "-m", "initial");
  }
  return dir;
}

/** `git status --porcelain` of a checkout (untracked files included). */
export function statusOf(dir: string): Promise<string> {
  return gitIn(dir, "status", "--porcelain");
}

export async function headOf(dir: string, ref = "HEAD"): Promise<string> {
  return (await gitIn(dir, "rev-parse", ref)).trim();
}
