/**
 * Verification rounds (issue 16 part 2): after a run ends with `success`, its check (`--verify CMD`, a
 * task step's `verify:`) runs with `/bin/sh -c` in the project folder under the run's own sandbox layers
 * (the launch plan's environment allow-list and OS sandbox), within what is left of the run's timeout. A
 * failed check resumes the same session with a feedback prompt that names the command and its exit code
 * and quotes the last lines of its output; then the check runs again, up to `retries` more rounds.
 *
 * Each round is a run of its own (record, transcript, history line); the check's output is kept beside it
 * (`<run id>-verify.log`) and summed up in its record (`verification`). The last round's record becomes
 * the outcome of the whole: `verify`, `rounds`, cost, tokens and turns added up over the rounds, and the
 * status `success` only when the last check passed (else `verify_failed`, exit 8). All rounds run under
 * one hold of the project's lock.
 *
 * @module
 */
import { EXIT } from "../exit_codes.ts";
import { bwrapArgs } from "../sandbox/bwrap.ts";
import { prepareLaunch } from "../sandbox/launch.ts";
import { appendHistory, historyEntryOf } from "../store/history.ts";
import type { ProjectPaths } from "../store/project.ts";
import type { RoundSummary, RunRecord } from "../store/run_record.ts";
import { writeRecord } from "../store/runs.ts";
import { dispatch, withRunLock } from "./dispatch.ts";
import { MARKER, planRun } from "./plan.ts";
import type { DispatchDeps, DispatchRequest, VerifyRequest } from "./request.ts";
import { supervise } from "./supervise.ts";

/** How many of the check's last lines the feedback and the record quote. */
export const TAIL_LINES = 40;
/** ... and at most this many characters of them. */
export const TAIL_CHARS = 4000;
/** A round needs at least this much time left to be worth starting. */
const MIN_ROUND_MS = 5000;

/** One run of the check. */
export interface CheckResult {
  command: string;
  /** null when it did not exit by itself (timed out, interrupted, could not start). */
  exit_code: number | null;
  passed: boolean;
  /** The last lines of its output (stdout and stderr together), verbatim. */
  output_tail: string;
  /** Why it did not exit by itself, if so. */
  ended: "exit" | "timeout" | "interrupted" | "cancelled" | "spawn_failed";
  duration_ms: number;
  /** Its whole output. */
  log_file: string;
}

/**
 * The last lines of `text`: at most `lines` lines and `chars` characters, whole lines where possible.
 *
 * @example
 * ```ts
 * tailOf("a\nb\nc\n", 2); // "b\nc"
 * ```
 */
export function tailOf(text: string, lines = TAIL_LINES, chars = TAIL_CHARS): string {
  const all = text.replace(/\n+$/, "").split("\n");
  let out = all.slice(-lines).join("\n");
  if (out.length > chars) out = out.slice(out.length - chars);
  return out;
}

/** A code fence longer than any run of backticks in `text`, so the quote stays verbatim. */
export function fenceFor(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  return "`".repeat(Math.max(3, longest + 1));
}

/**
 * The prompt that resumes the session after a failed check: the command, its exit code, its last lines
 * of output quoted verbatim in a fenced block.
 *
 * @example
 * ```ts
 * feedbackPrompt({ command: "npm test", exit_code: 1, output_tail: "1 failing", ended: "exit" }, 1, 2);
 * ```
 */
export function feedbackPrompt(
  check: Pick<CheckResult, "command" | "exit_code" | "output_tail" | "ended">,
  attempt: number,
  of: number,
): string {
  const how = check.ended === "timeout"
    ? "did not finish in time (it was stopped)"
    : check.ended === "spawn_failed"
    ? "could not be started"
    : `exited with code ${check.exit_code}`;
  const fence = fenceFor(check.output_tail);
  return [
    `The check \`${check.command}\` ${how} (check ${attempt} of ${of}), so the work is not done yet.`,
    "",
    `The last lines of its output:`,
    "",
    fence,
    check.output_tail || "(no output)",
    fence,
    "",
    "Find the cause and fix it so that the check passes. Do not change or weaken the check itself. " +
    "When you are done, say briefly what you changed.",
  ].join("\n");
}

/** The check's output file beside the round's record. */
function logFileOf(record: RunRecord): string {
  return record.record_file.replace(/-run\.json$/, "-verify.log");
}

/**
 * Runs the check once, after the round `record`, under the round's sandbox layers: the environment of
 * its launch plan (the allow-list, the run's marker) and, with the OS sandbox, the same bubblewrap
 * arguments around `/bin/sh -c CMD` instead of the agent. Its stderr goes with its stdout.
 */
export async function runCheck(
  req: DispatchRequest,
  deps: DispatchDeps,
  paths: ProjectPaths,
  record: RunRecord,
  check: VerifyRequest,
  timeoutMs: number,
): Promise<CheckResult> {
  const marker = `${record.run_id}-verify-${crypto.randomUUID()}`;
  const session = record.session_id
    ? { mode: "resume" as const, id: record.session_id }
    : { mode: "new" as const, id: crypto.randomUUID() };
  const plan = await planRun({ ...req, agent: record.agent ?? req.agent }, deps, paths, session, marker);
  await prepareLaunch(plan);
  // `exec 2>&1` first: the output reads as in a terminal, in order, and the user's command is unchanged.
  const shell = ["/bin/sh", "-c", `exec 2>&1\n${check.command}`];
  const [command, ...args] = plan.prepare ? [plan.command, ...bwrapArgs(plan.prepare), ...shell] : shell;
  const logFile = logFileOf(record);
  const log = await Deno.open(logFile, { write: true, create: true, truncate: true });
  const enc = new TextEncoder();
  let output = "";
  const t0 = Date.now();
  let supervised;
  try {
    await log.write(enc.encode(`$ ${check.command}\n`));
    supervised = await supervise({
      command,
      args,
      cwd: plan.cwd,
      env: plan.env,
      stdin: "",
      timeoutMs,
      graceMs: deps.graceMs ?? 5000,
      marker: { name: MARKER, value: marker },
      stderrPath: "/dev/null",
      signal: deps.signal,
      // As for the agent: `cancel` finds the check's processes through the lock.
      onSpawn: async (pid) => {
        await deps.lock?.update({ claude_pid: pid, marker });
      },
      onLine: async (line) => {
        await log.write(enc.encode(line + "\n"));
        output += line + "\n";
        // Only the tail is needed in memory.
        if (output.length > TAIL_CHARS * 4) output = output.slice(-TAIL_CHARS * 2);
      },
    });
    // The sandbox program's own complaints (bwrap could not start) come on its stderr.
    if (supervised.stderrTail.trim()) {
      output += supervised.stderrTail;
      await log.write(enc.encode(supervised.stderrTail));
    }
    const note = supervised.ended === "timeout"
      ? `[dispatch-cc: stopped after ${Math.round(timeoutMs / 1000)} s]`
      : supervised.ended === "spawn_failed"
      ? `[dispatch-cc: could not start ${command}: ${supervised.spawnError}]`
      : supervised.signal
      ? `[dispatch-cc: killed by ${supervised.signal}]`
      : `[dispatch-cc: exit code ${supervised.exitCode}]`;
    await log.write(enc.encode(note + "\n"));
    if (supervised.ended !== "exit" || supervised.signal) output += note + "\n";
  } finally {
    log.close();
    await deps.lock?.update({ claude_pid: undefined, marker: undefined });
  }
  const exitCode = supervised.ended === "exit" && !supervised.signal ? supervised.exitCode : null;
  return {
    command: check.command,
    exit_code: exitCode,
    passed: exitCode === 0,
    output_tail: tailOf(output),
    ended: supervised.ended,
    duration_ms: Date.now() - t0,
    log_file: logFile,
  };
}

const sum = (xs: (number | null)[]): number | null =>
  xs.some((x) => x !== null) ? xs.reduce<number>((a, x) => a + (x ?? 0), 0) : null;

function addUsage(list: (Record<string, number> | null)[]): Record<string, number> | null {
  if (list.every((u) => u === null)) return null;
  const out: Record<string, number> = {};
  for (const u of list) for (const [k, v] of Object.entries(u ?? {})) out[k] = (out[k] ?? 0) + v;
  return out;
}

/**
 * The outcome of a verified run from its rounds and checks: the last round's record, with the checks'
 * verdict, the rounds, and cost, tokens, turns and duration added up. Pure.
 */
export function combineRounds(
  rounds: readonly RunRecord[],
  checks: readonly CheckResult[],
  retries: number,
  stopped: { why: "interrupted" | "cancelled" | "no_time" | "no_session" } | null,
  ended: Date,
): RunRecord {
  const last = rounds[rounds.length - 1];
  const lastCheck = checks.at(-1);
  const summaries: RoundSummary[] = rounds.map((r) => {
    const check = checks.find((c) => c.log_file === logFileOf(r));
    return {
      run_id: r.run_id,
      status: r.status,
      exit_code: r.exit_code,
      session_id: r.session_id,
      num_turns: r.num_turns,
      cost_usd: r.cost_usd,
      usage: r.usage,
      ...(check ? { check: { exit_code: check.exit_code, passed: check.passed } } : {}),
    };
  });
  const out: RunRecord = {
    ...last,
    started: rounds[0].started,
    ended: ended.toISOString(),
    duration_ms: ended.getTime() - Date.parse(rounds[0].started),
    num_turns: sum(rounds.map((r) => r.num_turns)),
    cost_usd: sum(rounds.map((r) => r.cost_usd)),
    usage: addUsage(rounds.map((r) => r.usage)),
    tool_calls: rounds.reduce((a, r) => a + r.tool_calls, 0),
    files_touched: [...new Set(rounds.flatMap((r) => r.files_touched))],
    warnings: [...new Set(rounds.flatMap((r) => r.warnings))],
    rounds: summaries,
  };
  if (lastCheck) {
    out.verify = {
      command: lastCheck.command,
      passed: lastCheck.passed,
      attempts: checks.length,
      exit_code: lastCheck.exit_code,
      output_tail: lastCheck.output_tail,
    };
  }
  if (last.status !== "success") return out;
  if (stopped?.why === "interrupted" || stopped?.why === "cancelled") {
    return {
      ...out,
      status: stopped.why,
      exit_code: EXIT.interrupted,
      error: `${stopped.why} during verification; the session can be resumed`,
    };
  }
  if (lastCheck?.passed) return out;
  const how = !lastCheck
    ? "the check did not run"
    : lastCheck.ended === "timeout"
    ? `\`${lastCheck.command}\` did not finish in time`
    : lastCheck.ended === "spawn_failed"
    ? `\`${lastCheck.command}\` could not be started`
    : `\`${lastCheck.command}\` exited with code ${lastCheck.exit_code ?? "?"}`;
  const why = stopped?.why === "no_time"
    ? " (the run's time ran out before another round)"
    : stopped?.why === "no_session"
    ? " (no session to resume)"
    : ` after ${checks.length} check(s) and ${retries} extra round(s)`;
  return {
    ...out,
    status: "verify_failed",
    exit_code: EXIT.verifyFailed,
    error: `verification failed: ${how}${why}`,
  };
}

/**
 * Runs a request with its check (`req.verify`): the first round, the check, then feedback rounds on the
 * same session while the check fails and rounds and time are left. Without a check: `dispatch` as is.
 */
export async function dispatchVerified(req: DispatchRequest, deps: DispatchDeps): Promise<RunRecord> {
  const check = req.verify;
  if (!check) return await dispatch(req, deps);
  const t0 = Date.now();
  const deadline = t0 + req.timeoutS * 1000;
  return await withRunLock(req, deps, async (d, paths, lock) => {
    const rounds: RunRecord[] = [];
    const checks: CheckResult[] = [];
    let stopped: Parameters<typeof combineRounds>[3] = null;
    let round = await dispatch(req, { ...d, lock });
    rounds.push(round);
    while (round.status === "success") {
      const left = deadline - Date.now();
      if (left <= 0) {
        stopped = { why: "no_time" };
        break;
      }
      const limit = Math.min(left, (check.timeoutS ?? Infinity) * 1000);
      d.reporter.progress(`verify ${req.slug}: ${check.command} (check ${checks.length + 1})`);
      const result = await runCheck(req, { ...d, lock }, paths, round, check, limit);
      checks.push(result);
      d.reporter.progress(
        `verify ${req.slug}: ${result.passed ? "passed" : `failed (${result.exit_code ?? result.ended})`}`,
      );
      round.verification = {
        command: result.command,
        attempt: checks.length,
        exit_code: result.exit_code,
        passed: result.passed,
        output_tail: result.output_tail,
        log_file: result.log_file,
      };
      await writeRecord(round.record_file, { ...round });
      if (result.ended === "interrupted" || result.ended === "cancelled" || d.signal.aborted) {
        stopped = {
          why: d.signal.reason === "cancelled" || result.ended === "cancelled" ? "cancelled" : "interrupted",
        };
        break;
      }
      if (result.passed || checks.length > check.retries) break;
      const remaining = deadline - Date.now();
      if (remaining < MIN_ROUND_MS) {
        stopped = { why: "no_time" };
        break;
      }
      if (!round.session_id) {
        stopped = { why: "no_session" };
        break;
      }
      d.reporter.progress(`verify ${req.slug}: round ${rounds.length + 1}, resuming ${round.session_id}`);
      round = await dispatch({
        ...req,
        // A feedback round continues the session: in the history it is a resume (apply and review keep theirs).
        command: req.command === "run" ? "resume" : req.command,
        prompt: feedbackPrompt(result, checks.length, check.retries + 1),
        session: { mode: "resume", id: round.session_id },
        resumeSessionAt: undefined,
        timeoutS: Math.max(1, Math.floor(remaining / 1000)),
      }, { ...d, lock, files: undefined });
      rounds.push(round);
    }
    if (checks.length === 0 && round.status !== "success") return round;
    const final = combineRounds(rounds, checks, check.retries, stopped, new Date());
    await writeRecord(final.record_file, final);
    if (final.status !== round.status) {
      // The history keeps each round's own figures; only the final status of the last round changes.
      try {
        await appendHistory(
          paths.logsDir,
          historyEntryOf({ ...round, status: final.status, exit_code: final.exit_code }),
        );
      } catch (err) {
        d.reporter.warn(`could not update the history index: ${err instanceof Error ? err.message : err}`);
      }
    }
    d.reporter.progress(`[verify] ${final.status}: ${rounds.length} round(s), ${checks.length} check(s)`);
    return final;
  });
}
