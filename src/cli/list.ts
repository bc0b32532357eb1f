import { renderList } from "../render/projects.ts";
import { listEntriesText, listLines } from "../store/index_db.ts";
import { type Command, JSON_VERSION } from "./context.ts";
import { COMMON_OPTIONS } from "./dispatch_options.ts";
import { flag, parseOptions } from "./options.ts";

export const listCommand: Command = {
  name: "list",
  summary: "list every project with its last activity, last status and description",
  usage: "dispatch-cc list [--json]",
  options: COMMON_OPTIONS,
  async run(argv, ctx) {
    const p = parseOptions("list", argv, COMMON_OPTIONS);
    const dir = ctx.config.projectsDir;
    // The text needs only each project's line: a cheaper read of the cache at 100,000 projects.
    if (!flag(p, "json")) {
      const { entries } = await listLines(dir);
      return { exitCode: 0, json: null, text: renderList(entries, dir) };
    }
    // The entries come as printed text (from the cache, most of them): the document is put together
    // around them instead of parsing and printing 100,000 entries again.
    const { text } = await listEntriesText(dir);
    const head = { version: JSON_VERSION, projects_dir: dir, projects: [] };
    const jsonText = text === ""
      ? JSON.stringify(head, null, 2)
      : JSON.stringify(head, null, 2).replace(/\[\]\n\}$/, () => `[\n${text}\n  ]\n}`);
    return { exitCode: 0, json: null, jsonText, text: "" };
  },
};
