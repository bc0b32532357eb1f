import { NotFoundError } from "../errors.ts";
import { renderStatus } from "../render/projects.ts";
import { inspectProject } from "../store/inspect.ts";
import { projectExists, projectPaths } from "../store/project.ts";
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
    if (!(await projectExists(paths))) {
      throw new NotFoundError(`no project "${paths.slug}" in ${ctx.config.projectsDir}`);
    }
    const view = await inspectProject(paths, { withResult: true });
    return { exitCode: 0, json: { version: JSON_VERSION, ...view }, text: renderStatus(view) };
  },
};
