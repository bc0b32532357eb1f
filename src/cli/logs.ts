import { NotFoundError, UsageError } from "../errors.ts";
import { renderEvent } from "../render/transcript.ts";
import { dollars, seconds } from "../render/format.ts";
import { inspectLock } from "../store/lock.ts";
import { settleRecord } from "../store/record.ts";
import { currentRunId, readRunView, readTranscript } from "../runner/watch.ts";
import { readJsonObjectSafe } from "../store/files.ts";
import { listRunIds, runFiles } from "../store/runs.ts";
import type { Command } from "./context.ts";
import { COMMON_OPTIONS } from "./dispatch_options.ts";
import { flag, parseOptions, str } from "./options.ts";
import { existingProject, SLUG_OPTION } from "./project_arg.ts";

const options = {
  ...SLUG_OPTION,
  run: { type: "string" as const, arg: "ID", help: "the run (default: the one going on, else the last)" },
  follow: { type: "boolean" as const, short: "f", help: "keep showing the run as it goes on, until it ends" },
  json: {
    type: "boolean" as const,
    help: "print the transcript's events as they are, one JSON object per line",
  },
  help: COMMON_OPTIONS.help,
};

export const logsCommand: Command = {
  name: "logs",
  summary: "show a run's transcript: assistant text, tool calls, tool errors, denials, result",
  usage: "dispatch-cc logs --slug SLUG [--run ID] [--follow] [--json]",
  options,
  details:
    "--json passes Claude Code's stream-json events through, one per line (JSON Lines, not one document).\n" +
    "Runs of the earlier dispatch tool have no transcript: their final result is shown instead.",
  async run(argv, ctx) {
    const p = parseOptions("logs", argv, options);
    const paths = await existingProject(p, ctx);
    const json = flag(p, "json");
    let runId = str(p, "run");
    if (runId !== undefined) {
      runId = runId.replace(/-(run\.json|events\.jsonl|result\.json|stderr\.log)$/, "");
      if (!(await listRunIds(paths.logsDir)).includes(runId)) {
        throw new NotFoundError(
          `no run ${runId} in ${paths.slug} (see: dispatch-cc history --slug ${paths.slug})`,
        );
      }
    } else {
      runId = (await currentRunId(paths)).runId ?? undefined;
      if (!runId) throw new NotFoundError(`project "${paths.slug}" has no runs yet`);
    }
    const write = ctx.write ?? ((t: string) => console.log(t));
    const id = runId;
    const { found, problem } = await readTranscript(paths, id, (line) => {
      if (json) {
        if (line.trim()) write(line);
      } else for (const l of renderEvent(line)) write(l);
    }, { follow: flag(p, "follow"), signal: ctx.signal });
    const view = await readRunView(paths, id);
    if (problem) throw new UsageError(`run ${id}: ${problem}`);
    if (!found) {
      // The earlier tool kept only the final result.
      const res = await readJsonObjectSafe(runFiles(paths.logsDir, id).result);
      if (!res.ok) throw new UsageError(`run ${id} has no transcript and its result file is ${res.problem}`);
      if (json) write(JSON.stringify(res.value));
      else {
        write(`(run ${id} has no transcript: only its final result was kept)`);
        for (const l of renderEvent(JSON.stringify(res.value))) write(l);
      }
    } else if (!json && view?.kind === "record") {
      // As every reader shows it: a record left "running" by a dispatcher that is gone is abandoned.
      const r = settleRecord(view.record, await inspectLock(paths.lock).catch(() => null));
      const going = r.status === "running" || r.status === "starting";
      // The record's duration and cost (the run's own), not the CLI's figures on its result line.
      const figures = [
        r.duration_ms !== null ? seconds(r.duration_ms) : "",
        r.cost_usd !== null ? dollars(r.cost_usd) : "",
      ]
        .filter(Boolean).join(", ");
      write(
        going
          ? `== run ${id} is still running`
          : `== run ${id} ended: ${r.status}${figures ? ` in ${figures}` : ""}${
            r.error ? ` (${r.error})` : ""
          }`,
      );
      // A verified run's rounds: the check after this round, and the verdict of the whole.
      if (r.verification) {
        const v = r.verification;
        write(
          `== check ${v.attempt}: ${v.command}: ${
            v.passed ? "passed" : `failed (exit ${v.exit_code ?? "-"})`
          }` +
            `; output in ${v.log_file}`,
        );
      }
      if (r.verify && r.rounds) {
        write(
          `== verification: ${
            r.verify.passed ? "passed" : "failed"
          } after ${r.verify.attempts} check(s) in ` +
            `${r.rounds.length} round(s): ${r.rounds.map((x) => x.run_id).join(", ")}`,
        );
      }
    }
    return { exitCode: 0, json: null, text: "", printed: true };
  },
};
