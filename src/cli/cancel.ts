import { cancelRun } from "../runner/cancel.ts";
import { type Command, JSON_VERSION } from "./context.ts";
import { COMMON_OPTIONS } from "./dispatch_options.ts";
import { parseOptions, positiveNumber } from "./options.ts";
import { existingProject, SLUG_OPTION } from "./project_arg.ts";

const options = {
  ...SLUG_OPTION,
  grace: {
    type: "string" as const,
    arg: "SECONDS",
    help: "how long the run may take to stop before it is killed (default 15)",
  },
  ...COMMON_OPTIONS,
};

export const cancelCommand: Command = {
  name: "cancel",
  summary: "stop the project's running dispatch (detached or not) and everything it started",
  usage: "dispatch-cc cancel --slug SLUG [--grace SECONDS] [--json]",
  options,
  details:
    "The run is recorded as cancelled (its exit code 130) and its session can be resumed. Exit 0 when the\n" +
    'run was cancelled and also when nothing was running (then "cancelled": false says so); exit 3 when the\n' +
    "project does not exist.",
  async run(argv, ctx) {
    const p = parseOptions("cancel", argv, options);
    const paths = await existingProject(p, ctx);
    const graceS = positiveNumber(p, "grace") ?? 15;
    const c = await cancelRun(paths, { waitMs: graceS * 1000, host: Deno.hostname() });
    const text = c.cancelled
      ? `CANCELLED: run ${c.run_id} of ${paths.slug}${
        c.dispatcher === "gone"
          ? " (its dispatcher was already gone)"
          : c.forced
          ? " (it did not stop in time and was killed)"
          : ""
      }` +
        (c.record?.session_id
          ? `\nSession ${c.record.session_id} can be resumed: dispatch-cc resume --slug ${paths.slug}`
          : "") +
        (c.ended_processes.length
          ? `\nEnded leftover processes: ${c.ended_processes.map((x) => x.pid).join(", ")}`
          : "")
      : `Nothing cancelled in ${paths.slug}: ${c.reason}`;
    if (!c.cancelled) ctx.reporter.warn(`nothing cancelled: ${c.reason}`);
    return { exitCode: 0, json: { version: JSON_VERSION, slug: paths.slug, ...c }, text };
  },
};
