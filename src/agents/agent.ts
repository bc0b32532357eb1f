/**
 * The one interface every specialist CLI sits behind. An agent is a folder `src/agents/<name>/` exporting
 * one `Agent`; `src/agents/registry.ts` lists them (adding a fourth agent: one folder, one line there).
 *
 * DRAFT contract (issue 14): the runner-side seam refines it; fields are added, not renamed.
 */
import type { AgentState } from "../sandbox/bwrap.ts";
import type { AgentEvent } from "./events.ts";

export type AgentName = "claude" | "codex" | "gemini";

/** dispatch-cc's permission modes (the CLI names them; each agent maps them onto its own controls). */
export type PermissionMode = "plan" | "default" | "acceptEdits" | "bypassPermissions";

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
  command(inv: AgentInvocation, prompt: string): AgentCommand;
  parser(): LineParser;
  /** Does the agent still hold this session (a transcript it can resume)? */
  sessionExists(env: Record<string, string>, id: string, projectDir: string): Promise<boolean>;
  /**
   * What the OS sandbox shows of the agent's own state for one project: its sessions (writable), its
   * config and credentials (read-only), its scratch folders (private), files to copy (see `AgentState`
   * in src/sandbox/bwrap.ts; Claude Code's is `claudeCodeState` in src/sandbox/claude_state.ts).
   */
  sandboxState?(env: Record<string, string>, realProjectDir: string, sessionFolders: string[]): AgentState;
  /**
   * The name of the agent's per-project state folder for a project path, when it derives one from the path
   * (Claude Code: `claudeProjectFolder`): two projects with the same name would share state, so a new
   * one is refused (src/sandbox/project_folder.ts `checkOwnState`).
   */
  stateFolderOf?(projectPath: string): string;
}
