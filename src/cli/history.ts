import { renderHistory } from "../render/history.ts";
import { readHistory, totalsOf } from "../store/history.ts";
import { type Command, JSON_VERSION } from "./context.ts";
import { COMMON_OPTIONS } from "./dispatch_options.ts";
import { parseOptions, positiveNumber } from "./options.ts";
import { existingProject, SLUG_OPTION } from "./project_arg.ts";

const options = {
  ...SLUG_OPTION,
  limit: {
    type: "string" as const,
    arg: "N",
    help: "show the last N runs (default 20; totals cover every run)",
  },
  ...COMMON_OPTIONS,
};

export const historyCommand: Command = {
  name: "history",
  summary: "every run of a project: command, start, duration, status, turns, cost, tokens",
  usage: "dispatch-cc history --slug SLUG [--limit N] [--json]",
  options,
  details:
    "Reads .dispatch-logs/runs.jsonl (appended at the end of each run) and the files of any run it lacks:\n" +
    "runs of the earlier dispatch tool, a run still going on.",
  async run(argv, ctx) {
    const p = parseOptions("history", argv, options);
    const paths = await existingProject(p, ctx);
    const limit = positiveNumber(p, "limit", true) ?? 20;
    const h = await readHistory(paths.logsDir);
    const totals = totalsOf(h.entries);
    const shown = h.entries.slice(-limit);
    for (const problem of h.problems) ctx.reporter.warn(problem);
    return {
      exitCode: 0,
      json: {
        version: JSON_VERSION,
        slug: paths.slug,
        runs: shown,
        total_runs: h.entries.length,
        totals,
        problems: h.problems,
      },
      text: renderHistory(paths.slug, shown, totals, h.entries.length),
    };
  },
};
