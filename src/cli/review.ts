import { DEFAULT_REVIEW_PROMPT } from "../runner/review_prompt.ts";
import { DISPATCH_OPTIONS } from "./dispatch_options.ts";
import { dispatchingCommand } from "./dispatching.ts";

export const reviewCommand = dispatchingCommand({
  name: "review",
  summary: "independent review of a project in a new, read-only session",
  usage: "dispatch-cc review --slug SLUG [--prompt TEXT | --prompt-file FILE] [options]",
  details:
    "Runs in a new session with permission plan (read-only) unless --permission says otherwise. The review's\n" +
    "session is kept in .dispatch-logs/last-review-session-id; `resume` goes on with the work session.",
  options: DISPATCH_OPTIONS,
  session: { mode: "new" },
  permission: "plan",
  defaultPrompt: DEFAULT_REVIEW_PROMPT,
});
