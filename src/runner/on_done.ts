/**
 * Completion hooks (issue 16 part 3): after a run ends (foreground, detached, each apply step; whatever
 * its outcome), the user's command (`--on-done CMD`, `DISPATCH_ON_DONE`, a task file's `on_done:`) runs
 * with `/bin/sh -c`, outside the specialist's sandbox (it is the user's own command, with the user's
 * environment), with the run's `--json` document on stdin and DISPATCH_SLUG, DISPATCH_RUN_ID,
 * DISPATCH_STATUS, DISPATCH_EXIT_CODE and DISPATCH_PROJECT_DIR set. It is bounded in time
 * (DISPATCH_ON_DONE_TIMEOUT seconds, default 60); its failure or timeout is a warning in the record and
 * never changes the run's outcome or exit code.
 *
 * This module is also the one entry that runs a request with everything the result asks for: the check
 * and its rounds (`verify.ts`), then the hook ({@linkcode dispatchComplete}).
 *
 * @module
 */
import { runJson } from "../render/run.ts";
import type { RunRecord } from "../store/run_record.ts";
import { writeRecord } from "../store/runs.ts";
import type { DispatchDeps, DispatchRequest } from "./request.ts";
import { supervise } from "./supervise.ts";
import { dispatchVerified } from "./verify.ts";

/** How long a hook may take unless DISPATCH_ON_DONE_TIMEOUT says otherwise. */
export const DEFAULT_HOOK_TIMEOUT_S = 60;

/** How the hook went (`on_done` of the record). */
export interface HookResult {
  command: string;
  ok: boolean;
  exit_code: number | null;
  /** Why it failed, in one line (with the last line of its stderr). */
  error?: string;
  duration_ms: number;
}

/** The variables the hook gets besides the user's environment. */
export function hookEnv(record: RunRecord): Record<string, string> {
  return {
    DISPATCH_SLUG: record.slug,
    DISPATCH_RUN_ID: record.run_id,
    DISPATCH_STATUS: record.status,
    DISPATCH_EXIT_CODE: String(record.exit_code),
    DISPATCH_PROJECT_DIR: record.project_dir,
  };
}

/** DISPATCH_ON_DONE_TIMEOUT in milliseconds (a positive number of seconds), else the default. */
export function hookTimeoutMs(env: Record<string, string>): number {
  const n = Number(env.DISPATCH_ON_DONE_TIMEOUT?.trim());
  return (Number.isFinite(n) && n > 0 ? Math.min(n, 3600) : DEFAULT_HOOK_TIMEOUT_S) * 1000;
}

const lastLine = (text: string) => text.trim().split("\n").filter((l) => l.trim()).at(-1)?.trim() ?? "";

/**
 * Runs the hook once for a finished run. Never throws: a hook that cannot start, fails or times out is
 * reported in the result.
 */
export async function runHook(
  command: string,
  record: RunRecord,
  env: Record<string, string>,
  cwd: string,
): Promise<HookResult> {
  const t0 = Date.now();
  const timeoutMs = hookTimeoutMs(env);
  const marker = `${record.run_id}-on-done-${crypto.randomUUID()}`;
  try {
    const done = await supervise({
      command: "/bin/sh",
      args: ["-c", command],
      cwd,
      env: { ...env, ...hookEnv(record), DISPATCH_ON_DONE_MARKER: marker },
      stdin: JSON.stringify(runJson(record)) + "\n",
      timeoutMs,
      graceMs: 2000,
      marker: { name: "DISPATCH_ON_DONE_MARKER", value: marker },
      stderrPath: "/dev/null",
      onLine: () => {},
    });
    const duration_ms = Date.now() - t0;
    const err = lastLine(done.stderrTail);
    if (done.ended === "exit" && done.exitCode === 0) {
      return { command, ok: true, exit_code: 0, duration_ms };
    }
    const why = done.ended === "timeout"
      ? `did not finish in ${timeoutMs / 1000} s and was stopped`
      : done.ended === "spawn_failed"
      ? `could not start: ${done.spawnError}`
      : done.ended !== "exit"
      ? `was stopped (${done.ended})`
      : done.signal
      ? `was killed by ${done.signal}`
      : `exited with code ${done.exitCode}`;
    return {
      command,
      ok: false,
      exit_code: done.ended === "exit" ? done.exitCode : null,
      error: `the on-done hook ${why}${err ? `: ${err.slice(0, 300)}` : ""}`,
      duration_ms,
    };
  } catch (err) {
    return {
      command,
      ok: false,
      exit_code: null,
      error: `the on-done hook could not run: ${err instanceof Error ? err.message : err}`,
      duration_ms: Date.now() - t0,
    };
  }
}

/**
 * Runs the hook of a finished run and records how it went (`on_done`, and a warning when it failed) in
 * the run's record. The outcome and exit code stay as they are.
 */
export async function afterRun(
  command: string,
  record: RunRecord,
  deps: Pick<DispatchDeps, "config" | "reporter">,
): Promise<RunRecord> {
  const cwd = await Deno.stat(deps.config.userCwd).then((s) => s.isDirectory, () => false)
    ? deps.config.userCwd
    : record.project_dir;
  const hook = await runHook(command, record, deps.config.env, cwd);
  const out: RunRecord = {
    ...record,
    on_done: hook,
    warnings: hook.ok ? record.warnings : [...record.warnings, hook.error!],
  };
  if (!hook.ok) deps.reporter.warn(hook.error!);
  await writeRecord(record.record_file, out).catch((err) =>
    deps.reporter.warn(`could not record the on-done hook: ${err instanceof Error ? err.message : err}`)
  );
  return out;
}

/**
 * A request run with everything its result asks for: the run, its check and feedback rounds
 * (`req.verify`), then the completion hook (`req.onDone`). Use it wherever a run is dispatched (run,
 * resume, review, apply steps, detached runs); without a check or a hook it is `dispatch`.
 */
export async function dispatchComplete(req: DispatchRequest, deps: DispatchDeps): Promise<RunRecord> {
  const record = await dispatchVerified(req, deps);
  return req.onDone ? await afterRun(req.onDone, record, deps) : record;
}
