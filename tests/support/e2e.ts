/**
 * The shared fixture of end-to-end tests: the real Claude Code CLI (installed on first use), a scripted
 * Messages endpoint, a fresh HOME and projects folder, and the environment dispatch-cc gets.
 */
import { join } from "node:path";
import { claudeEnv, ensureClaudeCli, tempHome } from "./claude_cli.ts";
import { DENO_DIR } from "./cli.ts";
import { type MockApi, startMockApi } from "./mock_api.ts";

export interface E2E {
  bin: string;
  api: MockApi;
  home: string;
  root: string;
  projects: string;
  /** dispatch-cc's environment: the CLI's offline settings plus DISPATCH_* and a secret to scrub. */
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

export async function startE2E(extra: Record<string, string> = {}): Promise<E2E> {
  const bin = await ensureClaudeCli();
  const api = await startMockApi();
  const home = await tempHome();
  const root = await Deno.makeTempDir({ prefix: "dispatch-e2e-" });
  const projects = join(root, "projects");
  const env = {
    ...claudeEnv({ baseUrl: api.url, home }),
    DENO_DIR,
    DISPATCH_PROJECTS_DIR: projects,
    DISPATCH_CC_BIN: bin,
    ...extra,
  };
  return {
    bin,
    api,
    home,
    root,
    projects,
    env,
    async cleanup() {
      await api.close();
      await Deno.remove(root, { recursive: true }).catch(() => {});
      await Deno.remove(home, { recursive: true }).catch(() => {});
    },
  };
}

/** Processes whose command line contains `needle` (Linux), other than the probe itself. */
export async function processesMatching(needle: string): Promise<string[]> {
  const out = await new Deno.Command("ps", { args: ["-eo", "pid,stat,args"], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).split("\n")
    .filter((l) => l.includes(needle) && !/\sZ/.test(l.slice(0, 14)) && !l.includes("ps -eo"));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `check` is true or `ms` pass; returns the last value of `check`. */
export async function until(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(50);
  }
  return await check();
}
