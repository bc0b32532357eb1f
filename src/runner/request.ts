/**
 * What a dispatch is asked to do (`DispatchRequest`, from flags or a task file) and what it runs with
 * (`DispatchDeps`). Agent-neutral.
 *
 * @module
 */
import type { AgentName } from "../agents/agent.ts";
import type { Config } from "../config.ts";
import type { Reporter } from "../report.ts";
import type { SandboxChoice } from "../sandbox/choice.ts";
import type { PermissionMode } from "../sandbox/permission.ts";
import type { Lock } from "../store/lock.ts";
import type { DispatchCommand } from "../store/run_record.ts";
import type { RunFiles } from "../store/runs.ts";

export type { DispatchCommand };

/** What to dispatch, resolved from flags or a task file. */
export interface DispatchRequest {
  command: DispatchCommand;
  /** The specialist CLI (absent: Claude Code). */
  agent?: AgentName;
  slug: string;
  prompt: string;
  description?: string;
  permission: PermissionMode;
  timeoutS: number;
  model?: string;
  maxTurns?: number;
  maxBudgetUsd?: number;
  allowedTools?: string[];
  disallowedTools?: string[];
  systemPrompt?: string;
  /** Names of extra environment variables to pass to the CLI. */
  envNames?: string[];
  /** new: a fresh session; continue: the work session (resume); an explicit id: exactly that one. */
  session: { mode: "new"; id?: string } | { mode: "continue" } | { mode: "resume"; id: string };
  /** With a resumed session: continue from this assistant entry (apply leaves a failed step out). */
  resumeSessionAt?: string;
  /** A review keeps its session in last-review-session-id (review, and apply's review step). */
  role?: "work" | "review";
  /** Wait for the lock instead of failing at once. */
  wait?: boolean;
  /** The OS sandbox (absent: none). apply maps a task file's `sandbox: {enabled, network}` here. */
  sandbox?: SandboxChoice;
  /** `--allow-dangerous` on the command line: a permission above DISPATCH_MAX_PERMISSION is allowed. */
  allowDangerous?: boolean;
  /** Where `permission` came from, for the ceiling's message (default "the permission"). */
  permissionSource?: string;
  /** A JSON Schema the final answer must satisfy (`--output-schema`, `output_schema:`); checked already. */
  outputSchema?: Record<string, unknown>;
  /** A check after a successful run, with feedback rounds (`--verify`, `verify:`): see verify.ts. */
  verify?: VerifyRequest;
  /** A command run after the run ends, outside the sandbox (`--on-done`, `on_done:`): see on_done.ts. */
  onDone?: string;
}

/** A check after a successful run: the command, extra rounds after a failure, one check's time limit. */
export interface VerifyRequest {
  command: string;
  /** Extra rounds (resume with feedback, check again) after a failed check. */
  retries: number;
  /** One check's time limit in seconds (capped by what is left of the run's timeout). */
  timeoutS?: number;
}

export interface DispatchDeps {
  config: Config;
  /** The agent's binary (absolute), found by `findAgentBin`. */
  agentBin: string;
  reporter: Reporter;
  /** Aborted with reason "interrupted" (SIGINT/SIGTERM) or "cancelled". */
  signal: AbortSignal;
  now?: () => Date;
  /** Time between TERM and KILL when ending a run. */
  graceMs?: number;
  /** A lock already held by the caller (apply holds one for a whole task; a detached run's supervisor). */
  lock?: Lock;
  /** Run files reserved before the run (a detached run returns its id before the supervisor starts). */
  files?: RunFiles;
  /** The run goes on in a detached supervisor (recorded in the run record). */
  detached?: boolean;
}
