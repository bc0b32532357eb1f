import { NotFoundError } from "../errors.ts";
import { projectExists, type ProjectPaths, projectPaths } from "../store/project.ts";
import { checkProjectFolder } from "../sandbox/project_folder.ts";
import type { CommandContext } from "./context.ts";
import { requireSlug } from "./dispatch_options.ts";
import type { Parsed } from "./options.ts";

/** The project named by --slug, which must exist (exit 3 otherwise). */
export async function existingProject(p: Parsed, ctx: CommandContext): Promise<ProjectPaths> {
  const paths = projectPaths(ctx.config.projectsDir, requireSlug(p));
  checkProjectFolder(ctx.config.projectsDir, paths.slug);
  if (!(await projectExists(paths))) {
    throw new NotFoundError(`no project "${paths.slug}" in ${ctx.config.projectsDir}`);
  }
  return paths;
}

export const SLUG_OPTION = { slug: { type: "string" as const, arg: "SLUG", help: "the project (required)" } };
