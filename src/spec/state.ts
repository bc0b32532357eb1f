/**
 * Apply state: `.dispatch-logs/apply-state.json` in each project, one entry per step of the slug's tasks
 * (keyed by position within the slug, not by file name, so renaming a task file loses nothing). It says
 * which steps are finished, for which spec (the step's hash), on which session, and where a later step
 * can rewind that session to.
 *
 * @module
 */
import { join } from "../paths.ts";
import type { RunStatus } from "../store/run_record.ts";
import { writeJsonAtomic } from "../store/atomic.ts";
import { parseJsonObject } from "../store/files.ts";
import { isSessionId } from "../store/project.ts";

const isUuid = (v: unknown): boolean => typeof v === "string" && isSessionId(v);

/** What a step is: the first prompt (new session), a follow-up (same session), the review (new session). */
export type StepKind = "prompt" | "follow_up" | "review";

/** One step as recorded. `running` is written before the step starts, with its session id. */
export interface StepState {
  /** Position within the slug, from 1. */
  step: number;
  kind: StepKind;
  /** Hash chain value of the step's spec (`stepHashes`). */
  hash: string;
  status: RunStatus | "lock_held";
  exit_code: number | null;
  session_id: string | null;
  run_id: string | null;
  result_file: string | null;
  /** Last `assistant` event uuid of the run: where the next step's `--resume-session-at` continues. */
  last_assistant_uuid: string | null;
  /** The task file it was applied from, for people (not part of the key). */
  file: string;
  started: string;
  ended: string | null;
  error?: string | null;
}

export interface ApplyState {
  version: 1;
  slug: string;
  updated: string;
  steps: StepState[];
}

export const APPLY_STATE_FILE = "apply-state.json";

export function applyStatePath(logsDir: string): string {
  return join(logsDir, APPLY_STATE_FILE);
}

/**
 * Reads a project's apply state. A missing file is an empty state; an unreadable or corrupt one too, with
 * the reason in `problem` (the caller warns: the steps will run again).
 */
export async function readApplyState(
  path: string,
  slug: string,
): Promise<{ state: ApplyState; problem: string | null }> {
  const empty: ApplyState = { version: 1, slug, updated: new Date().toISOString(), steps: [] };
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { state: empty, problem: null };
    return { state: empty, problem: `cannot read ${path}: ${err instanceof Error ? err.message : err}` };
  }
  const parsed = parseJsonObject(text);
  if (!parsed.ok || !Array.isArray(parsed.value.steps)) {
    return { state: empty, problem: `${path} is corrupt; its steps will run again` };
  }
  const steps = (parsed.value.steps as unknown[]).filter((s): s is StepState =>
    typeof s === "object" && s !== null && typeof (s as StepState).step === "number" &&
    typeof (s as StepState).hash === "string"
  );
  // The file lies in the project, where a run can rewrite it: what goes to Claude Code's argv must be a
  // UUID. A step with anything else loses its session (it, and what follows, starts a new one).
  let forged = 0;
  const checked = steps.map((s) => {
    const badId = s.session_id !== null && s.session_id !== undefined && !isUuid(s.session_id);
    const badAt = s.last_assistant_uuid !== null && s.last_assistant_uuid !== undefined &&
      !isUuid(s.last_assistant_uuid);
    if (!badId && !badAt) return s;
    forged++;
    return {
      ...s,
      ...(badId ? { session_id: null, status: "error" as const } : {}),
      ...(badAt ? { last_assistant_uuid: null } : {}),
    };
  });
  const problem = forged === 0
    ? null
    : `${path}: ${forged} step(s) with a malformed session id or uuid; they run again on a new session`;
  return { state: { ...empty, steps: checked }, problem };
}

/**
 * Records one step, atomically, re-reading the file first so that entries written by anyone else since
 * are kept. Entries past `truncateAfter` (a shorter task than last time) are dropped.
 */
export async function recordStep(
  path: string,
  slug: string,
  entry: StepState,
  truncateAfter?: number,
): Promise<ApplyState> {
  const { state } = await readApplyState(path, slug);
  const steps = state.steps.filter((s) =>
    s.step !== entry.step && (truncateAfter === undefined || s.step <= truncateAfter)
  );
  steps.push(entry);
  steps.sort((a, b) => a.step - b.step);
  const next: ApplyState = { version: 1, slug, updated: new Date().toISOString(), steps };
  await writeJsonAtomic(path, next);
  return next;
}

/** Statuses after which the session ends on a complete model answer, a clean point to continue from. */
const CLEAN: ReadonlySet<string> = new Set(["success", "blocked"]);

/**
 * The first step (index from 0) that has to run: every step before it is recorded as finished with the
 * same hash. A step that failed, timed out, was interrupted or is still marked running runs again, and so
 * does everything after it (its session moves on). `restart` runs everything.
 *
 * @example
 * ```ts
 * firstToRun(["h1", "h2"], [{ step: 1, hash: "h1", status: "success" }], false); // 1
 * ```
 */
export function firstToRun(
  hashes: readonly string[],
  recorded: readonly Pick<StepState, "step" | "hash" | "status">[],
  restart: boolean,
): number {
  if (restart) return 0;
  const byStep = new Map(recorded.map((s) => [s.step, s]));
  for (let i = 0; i < hashes.length; i++) {
    const entry = byStep.get(i + 1);
    if (!entry || entry.hash !== hashes[i] || entry.status !== "success") return i;
  }
  return hashes.length;
}

/**
 * Where a follow-up continues: the task's session, rewound to the last complete answer of the latest
 * earlier step of the same task that ended cleanly, so that a failed or interrupted turn after it (which
 * Claude Code would otherwise merge with the next prompt) is left out. `null`: no session to continue.
 *
 * @example
 * ```ts
 * continuation([{ step: 1, kind: "prompt", status: "success", session_id: "s", last_assistant_uuid: "u1" },
 *   { step: 2, kind: "follow_up", status: "error", session_id: "s", last_assistant_uuid: "u2" }], 1, 3);
 * // { sessionId: "s", resumeAt: "u1" }
 * ```
 */
export function continuation(
  recorded: readonly Pick<StepState, "step" | "kind" | "status" | "session_id" | "last_assistant_uuid">[],
  taskFirstStep: number,
  step: number,
): { sessionId: string; resumeAt: string | null } | null {
  const earlier = recorded
    .filter((s) => s.step >= taskFirstStep && s.step < step && s.kind !== "review" && s.session_id)
    .sort((a, b) => a.step - b.step);
  const sessionId = earlier.at(-1)?.session_id;
  if (!sessionId) return null;
  const clean = earlier.filter((s) =>
    s.session_id === sessionId && CLEAN.has(s.status) && s.last_assistant_uuid
  )
    .at(-1);
  return { sessionId, resumeAt: clean?.last_assistant_uuid ?? null };
}
