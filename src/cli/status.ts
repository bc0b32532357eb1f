import { NotFoundError } from "../errors.ts";
import { checkProjectFolder } from "../sandbox/project_folder.ts";
import { renderStatus } from "../render/projects.ts";
import { renderTotals } from "../render/history.ts";
import { inspectProject } from "../store/inspect.ts";
import { projectExists, projectPaths } from "../store/project.ts";
import { cachedRunsSummary } from "../store/index_db.ts";
import { type Command, JSON_VERSION } from "./context.ts";
import { COMMON_OPTIONS, requireSlug } from "./dispatch_options.ts";
import { parseOptions } from "./options.ts";

const options = {
  slug: { type: "string" as const, arg: "SLUG", help: "the project (required)" },
  ...COMMON_OPTIONS,
};

export const statusCommand: Command = {
  name: "status",
  summary: "show one project: path, session, last run, last result",
  usage: "dispatch-cc status --slug SLUG [--json]",
  options,
  async run(argv, ctx) {
    const p = parseOptions("status", argv, options);
    const paths = projectPaths(ctx.config.projectsDir, requireSlug(p));
    // A symbolic link in the projects folder is refused (list and search skip it).
    checkProjectFolder(ctx.config.projectsDir, paths.slug);
    if (!(await projectExists(paths))) {
      throw new NotFoundError(`no project "${paths.slug}" in ${ctx.config.projectsDir}`);
    }
    const runs = await cachedRunsSummary(ctx.config.projectsDir, paths);
    const view = await inspectProject(paths, { withResult: true, runs });
    const totals = runs.totals;
    // Cost and tokens summed over every run of the project, before the last run's details.
    const text = renderStatus(view).replace(
      /^(Last run: .*)$/m,
      (line) => `${renderTotals(totals)}\n${line}`,
    );
    return { exitCode: 0, json: { version: JSON_VERSION, ...view, totals }, text };
  },
};
