import { DISPATCH_OPTIONS } from "./dispatch_options.ts";
import { dispatchingCommand } from "./dispatching.ts";

export const runCommand = dispatchingCommand({
  name: "run",
  summary: "create or reuse a project and run Claude Code on a prompt in a new session",
  usage:
    "dispatch-cc run --slug SLUG (--prompt TEXT | --prompt-file FILE) [--repo PATH [--base REF]] [options]",
  options: {
    ...DISPATCH_OPTIONS,
    desc: {
      type: "string",
      arg: "TEXT",
      help: "project description (default: the prompt's first 100 characters)",
    },
    repo: {
      type: "string",
      arg: "PATH",
      help: "work in this git repository: the project is a worktree of it on branch dispatch/SLUG",
    },
    base: { type: "string", arg: "REF", help: "with --repo: the commit the branch starts at (default HEAD)" },
  },
  session: { mode: "new" },
});
