/**
 * What the OS sandbox shows of an npm-installed agent (Codex, Gemini CLI): its state folder writable, and its
 * whole installation read-only. Their binary is a Node script that loads its package and dependencies (Codex
 * its native binary from a sibling package): the one file the sandbox shows of a CLI is not enough.
 */
import { dirname, resolve } from "../paths.ts";
import type { AgentState } from "../sandbox/bwrap.ts";

/** The nearest `node_modules` folder above `path`, or null. */
function nodeModulesOf(path: string): string | null {
  let p = path;
  while (p !== "/" && p !== ".") {
    if (p.endsWith("/node_modules")) return p;
    p = dirname(p);
  }
  return null;
}

/**
 * The `node_modules` folders an npm-installed binary lives in: at its real path, and at the path it is
 * started by (`…/node_modules/.bin/codex`, maybe through a symlinked folder): Node resolves the packages
 * from the script's path as it sees it.
 */
export function npmInstallRoots(bin: string): string[] {
  let real: string;
  try {
    real = Deno.realPathSync(bin);
  } catch {
    return [];
  }
  const roots = [nodeModulesOf(real), nodeModulesOf(resolve(bin))].filter((r): r is string => r !== null);
  return [...new Set(roots)];
}

/**
 * The sandbox state of an npm-installed agent. `writable`: its state folder (sessions, its databases). A
 * limit: that folder holds its configuration too, which a sandboxed run can therefore change.
 */
export function npmAgentState(displayName: string, sessionFolders: string[], bin?: string): AgentState {
  const roots = bin ? npmInstallRoots(bin) : [];
  return {
    displayName,
    writable: sessionFolders,
    scratch: [],
    readOnly: roots,
    copies: [],
    ownWrites: [],
  };
}
