/**
 * Runs dispatch-cc as users run it: a separate process, `deno run` with the declared permission set on
 * src/main.ts, in an environment the test controls.
 */
import { DENO_RUN_FLAGS } from "../../src/run_flags.ts";
import { fileURLToPath } from "node:url";

export const REPO = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");
export const MAIN = `${REPO}/src/main.ts`;
export const CONFIG = `${REPO}/deno.json`;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  // deno-lint-ignore no-explicit-any
  json: any;
}

/** The argv that starts dispatch-cc from source with its declared permissions. */
export function cliCommand(): { cmd: string; args: string[] } {
  return {
    cmd: Deno.execPath(),
    args: ["run", "--config", CONFIG, ...DENO_RUN_FLAGS, MAIN],
  };
}

export function spawnCli(
  args: string[],
  opts: { env: Record<string, string>; cwd?: string; stdin?: boolean },
): Deno.ChildProcess {
  const c = cliCommand();
  return new Deno.Command(c.cmd, {
    args: [...c.args, ...args],
    // The test's HOME is a temp folder: keep Deno's cache (npm packages such as yaml) where it is.
    env: { DENO_DIR: DENO_DIR, ...opts.env },
    clearEnv: true,
    cwd: opts.cwd ?? REPO,
    stdin: opts.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

export async function collect(child: Deno.ChildProcess): Promise<CliResult> {
  const out = await child.output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  let json = null;
  try {
    json = JSON.parse(stdout);
  } catch { /* not JSON */ }
  return { code: out.code, stdout, stderr, json };
}

/** Runs dispatch-cc to the end; `stdin` text is written and closed. */
export async function runCli(
  args: string[],
  opts: { env: Record<string, string>; cwd?: string; stdin?: string },
): Promise<CliResult> {
  const child = spawnCli(args, { ...opts, stdin: opts.stdin !== undefined });
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  return await collect(child);
}

/**
 * Deno's cache folder of the test process. Tests give dispatch-cc a temp HOME; without this, Deno would
 * look for its module cache (npm packages) under that HOME and fetch everything again.
 */
export const DENO_DIR = Deno.env.get("DENO_DIR") ||
  (Deno.env.get("XDG_CACHE_HOME")
    ? `${Deno.env.get("XDG_CACHE_HOME")}/deno`
    : `${Deno.env.get("HOME")}/.cache/deno`);

/** A base environment for dispatch-cc in tests: a temp projects dir and HOME, PATH, Deno's cache. */
export function baseEnv(dirs: { projects: string; home: string }, extra: Record<string, string> = {}) {
  return {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: dirs.home,
    DENO_DIR,
    DISPATCH_PROJECTS_DIR: dirs.projects,
    ...extra,
  };
}
