/**
 * The one interface every specialist CLI sits behind. An agent is a folder `src/agents/<name>/` exporting
 * one `Agent`; `src/agents/registry.ts` lists them (adding a fourth agent: one folder, its name in `names.ts`, one line
 * in the registry).
 *
 * Contract (issue 14): fields are added, not renamed. What the runner asks an agent for: the argument list
 * and stdin of one invocation (`command`), a parser turning its stdout lines into common events
 * (`parser`), where its sessions live (`sessionExists`, `sessionFolders`, `stateDir`), how to find and
 * install its binary (`binName`, `binEnv`, `installHint`) and which environment it needs (`envNames`,
 * `envPrefixes`). Everything else (the launch plan, supervision, the fold, classification, the records)
 * is agent-neutral and lives in `src/runner/` and `src/store/`.
 */
import type { AgentState } from "../sandbox/bwrap.ts";
import type { AgentEvent } from "./events.ts";

export type { AgentName } from "./names.ts";
import type { AgentName } from "./names.ts";

/** dispatch-cc's permission modes (Claude Code's names; each agent maps them onto its own controls). */
export type { PermissionMode } from "../sandbox/permission.ts";
import type { PermissionMode } from "../sandbox/permission.ts";

/** What one invocation should do, agent-neutral. */
export interface AgentInvocation {
  /** new: a new session (id pre-assigned where the agent allows it); resume: continue `id`. */
  session: { mode: "new" | "resume"; id: string | null };
  permission: PermissionMode;
  projectDir: string;
  model?: string;
  maxTurns?: number;
  maxBudgetUsd?: number;
  allowedTools?: string[];
  disallowedTools?: string[];
  appendSystemPrompt?: string;
  /** A JSON Schema the final answer must satisfy (only for agents with native support). */
  outputSchema?: Record<string, unknown>;
  /** Paths the agent's own file tools must never write (dispatch-cc's records). */
  protectedPaths: string[];
  /**
   * With a resumed session: continue from this point instead of the end (Claude Code: an `assistant`
   * event's uuid, `--resume-session-at`), so a failed turn after it is left out. Ignored where unsupported.
   */
  resumeAt?: string;
  /** Run the agent inside its own sandbox (Claude Code's Bash sandbox, `--claude-sandbox`). */
  ownSandbox?: boolean;
  /**
   * The run is inside dispatch-cc's OS sandbox (`--sandbox`, bubblewrap). An agent whose own sandbox is
   * bubblewrap too (Codex) cannot nest it there and maps its modes accordingly.
   */
  osSandbox?: boolean;
}

/** How to start the CLI: argv (without the binary), what goes on stdin, extra environment, files. */
export interface AgentCommand {
  args: string[];
  /** The prompt on stdin, or null for `/dev/null` (then the prompt is in `args`: say why in the agent). */
  stdin: string | null;
  /** Variables the agent needs set for headless use (e.g. GEMINI_CLI_NO_RELAUNCH). */
  env: Record<string, string>;
}

/** Turns a run's stdout lines into common events; one per run (some agents keep state across lines). */
export type LineParser = (line: string) => AgentEvent[];

/**
 * What an agent knows of one run beyond its stdout (additive, for agents that need it): the run's mode and
 * session, and notes the agent takes before the start (`beforeRun`) for its parser and `afterRun`.
 */
export interface RunContext {
  env: Record<string, string>;
  projectDir: string;
  permission: PermissionMode;
  session: { mode: "new" | "resume"; id: string | null };
  /** The run is inside dispatch-cc's OS sandbox (then a refused write is that sandbox's doing). */
  osSandbox?: boolean;
  /** The agent's own notes (Codex: the thread's token total before a resume). */
  notes?: Record<string, unknown>;
}

export interface Agent {
  name: AgentName;
  /** "Claude Code", "Codex", "Gemini CLI": for messages. */
  displayName: string;
  /** The binary's name on PATH and the variable that overrides it (DISPATCH_CC_BIN, ...). */
  binName: string;
  binEnv: string;
  installHint: string;
  /** Environment names (exact) and prefixes the child may inherit, beyond the common ones. */
  envNames: string[];
  envPrefixes: string[];
  /** True when dispatch-cc assigns the session id before the start (Claude Code's --session-id). */
  assignsSessionId: boolean;
  /** True when the agent validates a final answer against a JSON Schema itself. */
  supportsOutputSchema: boolean;
  /** The agent has a sandbox of its own that `ownSandbox` turns on (else --claude-sandbox is refused). */
  hasOwnSandbox: boolean;
  /**
   * The argument list, stdin and extra environment of one invocation. Pure. Throws on a session id that
   * is not one (ids may come back from files a run could have rewritten). `--dry-run` passes placeholders
   * such as `<new-session-id>` as ids.
   */
  command(inv: AgentInvocation, prompt: string): AgentCommand;
  /** A fresh parser for one run's stdout (or one transcript); `ctx` where the run is known. */
  parser(ctx?: RunContext): LineParser;
  /** Before the start: look at the agent's own files (Codex: the thread's running token total). */
  beforeRun?(ctx: RunContext): Promise<void>;
  /**
   * After the CLI ended: events only its own files show (Codex does not print the commands its read-only
   * sandbox refused; its session log has them). `sessionId`: the session the run reported, if any.
   */
  afterRun?(ctx: RunContext, sessionId: string | null): Promise<AgentEvent[]>;
  /** The HTTP status of an API error from the CLI's exit code, where it says so (Gemini: status mod 256). */
  apiStatusFromExit?(code: number | null): number | null;
  /** Options of an invocation this CLI cannot honour: one warning each (e.g. a turn limit Codex lacks). */
  unsupported?(inv: AgentInvocation): string[];
  /** Does the agent still hold this session (a transcript it can resume)? */
  sessionExists(env: Record<string, string>, id: string, projectDir: string): Promise<boolean>;
  /** The agent's own state folder in this environment (Claude Code: $CLAUDE_CONFIG_DIR or ~/.claude). */
  stateDir(env: Record<string, string>): string;
  /**
   * The folders a run in `projectDir` (a real path) writes its session to: its own, and that of a resumed
   * session that began elsewhere. The OS sandbox makes these writable, and no other session folder.
   */
  sessionFolders(env: Record<string, string>, projectDir: string, resumeId: string | null): Promise<string[]>;
  /**
   * What the OS sandbox shows of the agent's own state for one project (`AgentState` in
   * src/sandbox/bwrap.ts): its sessions writable (`sessionFolders`), its config and credentials read-only,
   * its scratch folders private, files it rewrites copied. Without it, only `sessionFolders` are shown.
   * Claude Code's: src/agents/claude_code/sandbox_state.ts.
   */
  sandboxState?(
    env: Record<string, string>,
    realProjectDir: string,
    sessionFolders: string[],
    /** The agent's binary as started (an npm-installed CLI needs its whole package folder). */
    bin?: string,
  ): AgentState;
  /**
   * The name of the agent's per-project state folder for a project path, when it derives one from the
   * path (Claude Code: `claudeProjectFolder`): two projects with the same name would share state, so a new
   * one is refused (src/sandbox/project_folder.ts `checkOwnState`).
   */
  stateFolderOf?(projectPath: string): string;
}
