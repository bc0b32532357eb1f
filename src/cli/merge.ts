import { mergeProject } from "../git/merge.ts";
import { requireRepoProject } from "../git/repo.ts";
import { renderMerge } from "../render/git.ts";
import { acquireLock } from "../store/lock.ts";
import { projectPaths, readProjectMeta } from "../store/project.ts";
import { type Command, JSON_VERSION } from "./context.ts";
import { COMMON_OPTIONS, requireSlug } from "./dispatch_options.ts";
import { parseOptions, str } from "./options.ts";
import { SLUG_OPTION } from "./project_arg.ts";

const options = {
  ...SLUG_OPTION,
  message: {
    type: "string" as const,
    arg: "TEXT",
    help: "message of the commit of the worktree's uncommitted changes (default: the description)",
  },
  ...COMMON_OPTIONS,
};

export const mergeCommand: Command = {
  name: "merge",
  summary: "commit a repository project's changes on its branch and merge it into the checked-out branch",
  usage: "dispatch-cc merge --slug SLUG [--message TEXT] [--json]",
  options,
  details:
    "Commits what the worktree has not committed (with your git identity), then merges dispatch/SLUG into\n" +
    "the branch checked out at the repository: fast-forward when possible, else a merge commit. Refused\n" +
    "with nothing changed (exit 9) when that checkout has uncommitted changes to tracked files, when the\n" +
    "merge would conflict, or when it would overwrite untracked files; the message names the files.",
  async run(argv, ctx) {
    const p = parseOptions("merge", argv, options);
    const paths = projectPaths(ctx.config.projectsDir, requireSlug(p));
    const project = await requireRepoProject(paths, ctx.config.projectsDir);
    // No run may write the worktree while it is committed and merged.
    const lock = await acquireLock(paths.lock, { command: "merge", run_id: "" }, { warn: ctx.reporter.warn });
    try {
      const meta = (await readProjectMeta(paths)).meta;
      const m = await mergeProject(project, {
        logsDir: paths.logsDir,
        message: str(p, "message"),
        description: meta?.description,
      });
      return { exitCode: 0, json: { version: JSON_VERSION, ...m }, text: renderMerge(m) };
    } finally {
      await lock.release();
    }
  },
};
