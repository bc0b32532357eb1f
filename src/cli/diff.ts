import { projectChanges, projectDiffText } from "../git/diff.ts";
import { requireRepoProject } from "../git/repo.ts";
import { changesLines, changesSummary } from "../render/git.ts";
import { projectPaths } from "../store/project.ts";
import { type Command, JSON_VERSION } from "./context.ts";
import { COMMON_OPTIONS, requireSlug } from "./dispatch_options.ts";
import { flag, parseOptions } from "./options.ts";
import { SLUG_OPTION } from "./project_arg.ts";

const options = {
  ...SLUG_OPTION,
  stat: { type: "boolean" as const, help: "a summary per file (git diff --stat) instead of the diff" },
  ...COMMON_OPTIONS,
};

export const diffCommand: Command = {
  name: "diff",
  summary: "show a repository project's changes against its base (committed and not yet committed)",
  usage: "dispatch-cc diff --slug SLUG [--stat] [--json]",
  options,
  details:
    "Only for projects started with --repo. The text is a unified diff as git diff prints it; --json\n" +
    "gives {slug, repo, base, branch, files: [{path, status, insertions, deletions}], insertions, deletions}.",
  async run(argv, ctx) {
    const p = parseOptions("diff", argv, options);
    const paths = projectPaths(ctx.config.projectsDir, requireSlug(p));
    const project = await requireRepoProject(paths, ctx.config.projectsDir);
    if (flag(p, "json")) {
      const d = await projectChanges(project, paths.logsDir);
      const json = { version: JSON_VERSION, ...d };
      return { exitCode: 0, json, text: [changesSummary(d), ...changesLines(d)].join("\n") };
    }
    const text = await projectDiffText(project, paths.logsDir, flag(p, "stat"));
    if (text === "") ctx.reporter.warn(`no changes in ${paths.slug} against its base ${project.baseRef}`);
    return { exitCode: 0, json: null, text: text.replace(/\n$/, "") };
  },
};
