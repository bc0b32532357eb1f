import { renderList } from "../render/projects.ts";
import { listProjects } from "../store/list_index.ts";
import { type Command, JSON_VERSION } from "./context.ts";
import { COMMON_OPTIONS } from "./dispatch_options.ts";
import { parseOptions } from "./options.ts";

export const listCommand: Command = {
  name: "list",
  summary: "list every project with its last activity, last status and description",
  usage: "dispatch-cc list [--json]",
  options: COMMON_OPTIONS,
  async run(argv, ctx) {
    parseOptions("list", argv, COMMON_OPTIONS);
    const dir = ctx.config.projectsDir;
    const { entries } = await listProjects(dir);
    return {
      exitCode: 0,
      json: { version: JSON_VERSION, projects_dir: dir, projects: entries },
      text: renderList(entries, dir),
    };
  },
};
