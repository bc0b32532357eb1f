/**
 * What Claude Code needs of its own state inside the OS sandbox: the function the generic sandbox
 * (src/sandbox/bwrap.ts) asks an agent for (`Agent.sandboxState`). Another specialist CLI provides the
 * same shape for its own folders.
 *
 * @module
 */
import { join, normalize } from "../../paths.ts";
import type { AgentState } from "../../sandbox/bwrap.ts";
import { claudeProjectFolder, claudeStateDir } from "./sessions.ts";

/**
 * Subfolders of the state folder Claude Code writes during a run and that only that run needs: the session
 * registry, todos and tasks, plans, checkpoints, `.claude.json` backups, caches, logs, and the shell
 * snapshots its Bash tool sources. Each gets a private, empty tmpfs: what is there on the host is other
 * projects' state (never shown), and what the run writes there vanishes with it (never planted for later).
 */
export const CLAUDE_SCRATCH_SUBDIRS: readonly string[] = [
  "sessions",
  "session-env",
  "shell-snapshots",
  "todos",
  "tasks",
  "plans",
  "file-history",
  "backups",
  "statsig",
  "telemetry",
  "debug",
  "cache",
  "paste-cache",
  "plugins/store", // per-plugin usage data it writes at start; plugin code stays read-only
];

/**
 * The user's own Claude Code configuration and credentials: read-only when present. Not `projects/`
 * (other projects' transcripts), `history.jsonl` (every project's prompts) or the scratch folders above.
 */
export const CLAUDE_READONLY_ENTRIES: readonly string[] = [
  "settings.json",
  ".credentials.json",
  "CLAUDE.md",
  "agents",
  "commands",
  "skills",
  "output-styles",
  "plugins",
];

/**
 * Where Claude Code keeps its global config: `$HOME/.claude.json`, or `.claude.json` inside
 * `$CLAUDE_CONFIG_DIR` when that is set (recognised as a state folder other than `$HOME/.claude`).
 */
export function claudeGlobalConfig(home: string, state: string): string {
  const base = normalize(state) === normalize(join(home, ".claude")) ? home : state;
  return join(base, ".claude.json");
}

/**
 * `.claude.json` as the sandboxed run may see it: the user's settings, with `projects` cut to this
 * project's entry (the others name and describe other projects). `{}` when missing, empty or not JSON
 * (an empty file is fatal to Claude Code, a missing one gives a warning on every run).
 */
export function ownGlobalConfig(text: string | null, projectDir: string): string {
  try {
    const v = JSON.parse(text ?? "");
    if (!v || typeof v !== "object" || Array.isArray(v)) return "{}\n";
    const projects = v.projects && typeof v.projects === "object" ? v.projects : {};
    return JSON.stringify({
      ...v,
      projects: projectDir in projects ? { [projectDir]: projects[projectDir] } : {},
    }) +
      "\n";
  } catch {
    return "{}\n";
  }
}

/**
 * Claude Code's state inside the sandbox for one project:
 * - writable and kept: `projects/<folder>` of this project (its sessions), plus `sessionFolders` (from
 *   `claudeSessionFolders`: also the folder of a resumed session that began elsewhere);
 * - private per run: {@linkcode CLAUDE_SCRATCH_SUBDIRS};
 * - read-only: {@linkcode CLAUDE_READONLY_ENTRIES};
 * - `.claude.json`: a copy in the run's own root ({@linkcode ownGlobalConfig}), which Claude Code rewrites
 *   freely (with its lock and temp files beside it) and which is dropped after the run.
 *
 * @example
 * ```ts
 * const state = claudeCodeState({ HOME: "/home/me" }, "/home/me/projects/p", []);
 * // state.writable: ["/home/me/.claude/projects/-home-me-projects-p"]
 * ```
 */
export function claudeCodeState(
  env: Record<string, string>,
  realProjectDir: string,
  sessionFolders: string[],
): AgentState {
  const home = env.HOME ?? "";
  const state = claudeStateDir(env);
  const config = claudeGlobalConfig(home, state);
  const own = join(state, "projects", claudeProjectFolder(realProjectDir));
  return {
    displayName: "Claude Code",
    writable: [...new Set([own, ...sessionFolders])],
    scratch: CLAUDE_SCRATCH_SUBDIRS.map((s) => join(state, s)),
    readOnly: CLAUDE_READONLY_ENTRIES.map((s) => join(state, s)),
    copies: [{
      path: config,
      content: async () => ownGlobalConfig(await Deno.readTextFile(config).catch(() => null), realProjectDir),
    }],
    ownWrites: [
      // It saves `.claude.json` through a lock and a temp file beside it, and keeps backups there.
      new RegExp(`^${literal(config)}(\\.lock|\\.tmp\\.[^/]*|\\.backup[^/]*)?(/.*)?$`),
      // The time of its last clean-up of old sessions (written now and then, seen as a normal user).
      new RegExp(`^${literal(join(state, ".last-cleanup"))}$`),
    ],
  };
}

/** A path as a regular expression that matches exactly it. */
function literal(path: string): string {
  return path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
