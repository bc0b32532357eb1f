import { EXIT } from "../exit_codes.ts";
import { renderRun, runJson } from "../render/run.ts";
import { NotFoundError } from "../errors.ts";
import { exitCodeOf, isGoingOn, readRunView, type RunView, waitForRun } from "../runner/watch.ts";
import { inspectLock } from "../store/lock.ts";
import { settleRecord } from "../store/record.ts";
import { listRunIds } from "../store/runs.ts";
import { type Command, type CommandResult, JSON_VERSION } from "./context.ts";
import { COMMON_OPTIONS, RESULT_LIMIT_OPTION } from "./dispatch_options.ts";
import { flag, parseOptions, positiveNumber, str } from "./options.ts";
import { parseSeconds } from "../config.ts";
import { existingProject, SLUG_OPTION } from "./project_arg.ts";
import { dollars, seconds } from "../render/format.ts";

const options = {
  ...SLUG_OPTION,
  run: {
    type: "string" as const,
    arg: "ID",
    help: "the run to wait for (default: the one going on, else the last)",
  },
  timeout: {
    type: "string" as const,
    arg: "SECONDS",
    help: "give up after SECONDS (exit 7, the run goes on)",
  },
  ...RESULT_LIMIT_OPTION,
  ...COMMON_OPTIONS,
};

/** A run's outcome as `run` prints it; runs of the earlier tool (no record) in a short form. */
export function outcomeResult(view: RunView, resultLimit?: number): CommandResult {
  if (view.kind === "record") {
    return {
      exitCode: exitCodeOf(view),
      json: runJson(view.record, resultLimit),
      text: renderRun(view.record, { resultLimit }),
    };
  }
  const s = view.summary;
  return {
    exitCode: exitCodeOf(view),
    json: { version: JSON_VERSION, ...s },
    text: [
      s.problem
        ? `${s.status.toUpperCase()}: run ${s.run_id}: ${s.problem}`
        : `${s.status.toUpperCase()}: run ${s.run_id} (a run of the earlier dispatch tool: only its result file is known)`,
      `Session: ${s.session_id ?? "-"}`,
      `Turns: ${s.num_turns ?? "-"}  Duration: ${seconds(s.duration_ms)}  Cost: ${dollars(s.cost_usd)}`,
      `Result file: ${s.result_file}`,
    ].join("\n"),
  };
}

export const waitCommand: Command = {
  name: "wait",
  summary: "wait for the project's running (or last) run to end and print its outcome like run does",
  usage: "dispatch-cc wait --slug SLUG [--run ID] [--timeout SECONDS] [--result-limit N] [--json]",
  options,
  details: "Exit code and --json document are those of the run (the run record). With --timeout, gives up\n" +
    "after SECONDS with exit 7 (still running) and the record as it stands; the run is not touched.\n" +
    "--run ID: that run; one that has ended is reported at once, even when another run is going on.",
  async run(argv, ctx) {
    const p = parseOptions("wait", argv, options);
    const paths = await existingProject(p, ctx);
    const rawTimeout = str(p, "timeout");
    const timeoutS = rawTimeout === undefined ? undefined : parseSeconds(rawTimeout, "--timeout");
    const resultLimit = positiveNumber(p, "result-limit", true);
    const runId = str(p, "run")?.replace(/-(run\.json|events\.jsonl|result\.json|stderr\.log)$/, "");
    if (runId !== undefined) {
      if (!(await listRunIds(paths.logsDir)).includes(runId)) {
        throw new NotFoundError(
          `no run ${runId} in ${paths.slug} (see: dispatch-cc history --slug ${paths.slug})`,
        );
      }
      // A run that has ended (or whose dispatcher is gone) is reported without waiting for another.
      const view = await readRunView(paths, runId);
      if (view && (view.kind === "summary" || !isGoingOn(view.record))) {
        return outcomeResult(view, resultLimit);
      }
      if (view) {
        const settled = settleRecord(view.record, await inspectLock(paths.lock).catch(() => null));
        if (!isGoingOn(settled)) return outcomeResult({ kind: "record", record: settled }, resultLimit);
      }
    }
    const w = await waitForRun(paths, {
      timeoutMs: timeoutS === undefined ? undefined : timeoutS * 1000,
      signal: ctx.signal,
    });
    if (w.done) {
      if (w.view.kind === "summary" && w.view.summary.problem) ctx.reporter.warn(w.view.summary.problem);
      return outcomeResult(w.view, resultLimit);
    }
    const rec = w.view?.kind === "record" ? w.view.record : null;
    const msg = `run ${w.runId} of ${paths.slug} is still running` +
      (rec ? ` (${rec.command}, started ${rec.started}, pid ${rec.pid})` : "") +
      (ctx.signal.aborted ? "; stopped waiting" : `; gave up after ${timeoutS} s`);
    // Said once, on stderr (stdout carries only the --json document).
    ctx.reporter.warn(`STILL RUNNING: ${msg}`);
    return {
      exitCode: EXIT.stillRunning,
      json: rec
        ? runJson(rec, resultLimit)
        : { version: JSON_VERSION, run_id: w.runId, slug: paths.slug, status: "running" },
      text: "",
      printed: !flag(p, "json"),
    };
  },
};
