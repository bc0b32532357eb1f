import { DISPATCH_OPTIONS } from "./dispatch_options.ts";
import { dispatchingCommand } from "./dispatching.ts";

export const resumeCommand = dispatchingCommand({
  name: "resume",
  summary: "continue the project's work session with a new prompt",
  usage: "dispatch-cc resume --slug SLUG (--prompt TEXT | --prompt-file FILE) [options]",
  details:
    "Continues the session in .dispatch-logs/last-session-id. When there is none, or Claude Code no longer\n" +
    "knows it, a new session starts and a warning says so. Reviews never replace the work session.",
  options: DISPATCH_OPTIONS,
  session: { mode: "continue" },
});
