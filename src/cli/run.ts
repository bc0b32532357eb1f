import { DISPATCH_OPTIONS } from "./dispatch_options.ts";
import { dispatchingCommand } from "./dispatching.ts";

export const runCommand = dispatchingCommand({
  name: "run",
  summary: "create or reuse a project and run Claude Code on a prompt in a new session",
  usage: "dispatch-cc run --slug SLUG (--prompt TEXT | --prompt-file FILE) [options]",
  options: {
    ...DISPATCH_OPTIONS,
    desc: {
      type: "string",
      arg: "TEXT",
      help: "project description (default: the prompt's first 100 characters)",
    },
  },
  session: { mode: "new" },
});
