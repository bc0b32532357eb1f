import { UsageError } from "../errors.ts";
import { readRepoProject } from "../git/repo.ts";
import { removePlainFolder, removeRepoProject } from "../git/remove.ts";
import { renderRemove } from "../render/git.ts";
import { acquireLock } from "../store/lock.ts";
import { projectPaths } from "../store/project.ts";
import { NotFoundError } from "../errors.ts";
import { type Command, JSON_VERSION } from "./context.ts";
import { COMMON_OPTIONS, requireSlug } from "./dispatch_options.ts";
import { flag, parseOptions } from "./options.ts";
import { SLUG_OPTION } from "./project_arg.ts";

const options = {
  ...SLUG_OPTION,
  force: {
    type: "boolean" as const,
    help: "also when a repository project has uncommitted changes or an unmerged branch (both are lost)",
  },
  ...COMMON_OPTIONS,
};

export const removeCommand: Command = {
  name: "remove",
  summary: "remove a project: its folder, or its worktree and (once merged) its branch",
  usage: "dispatch-cc remove --slug SLUG [--force] [--json]",
  options,
  details: "Refused while a run holds the project's lock (exit 5). For a project in a repository, the\n" +
    "worktree goes through git and the branch dispatch/SLUG is deleted; without --force, refused when the\n" +
    "worktree has changes not committed on the branch or the branch is not merged into another branch.",
  async run(argv, ctx) {
    const p = parseOptions("remove", argv, options);
    const paths = projectPaths(ctx.config.projectsDir, requireSlug(p));
    const stat = await Deno.lstat(paths.dir).catch(() => null);
    if (!stat) throw new NotFoundError(`no project "${paths.slug}" in ${ctx.config.projectsDir}`);
    if (stat.isSymlink) {
      throw new UsageError(
        `${paths.dir} is a symbolic link: remove the link yourself (its target is left alone)`,
      );
    }
    const logs = await Deno.lstat(paths.logsDir).catch(() => null);
    if (!stat.isDirectory || !logs?.isDirectory) {
      throw new UsageError(
        `${paths.dir} is not a dispatch-cc project (no .dispatch-logs folder): not removed`,
      );
    }
    const lock = await acquireLock(paths.lock, { command: "remove", run_id: "" }, {
      warn: ctx.reporter.warn,
    });
    try {
      const project = await readRepoProject(paths);
      const r = project ? await removeRepoProject(paths, project, flag(p, "force")) : await (async () => {
        await removePlainFolder(paths);
        return {
          slug: paths.slug,
          project_dir: paths.dir,
          repo: null,
          branch: null,
          branch_deleted: false,
          branch_reason: null,
        };
      })();
      return { exitCode: 0, json: { version: JSON_VERSION, removed: true, ...r }, text: renderRemove(r) };
    } finally {
      await lock.release();
    }
  },
};
