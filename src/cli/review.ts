import type { Command } from "./context.ts";
import {
  DISPATCH_OPTIONS,
  outputFromFlags,
  readPrompt,
  requestFromFlags,
  requireSlug,
} from "./dispatch_options.ts";
import { runDispatch } from "./dispatching.ts";
import { parseOptions } from "./options.ts";

export const DEFAULT_REVIEW_PROMPT =
  `Review the work in this project independently, as a senior engineer who did not write it.
Read the code and documents, run nothing that changes files. Report:
1. Whether it does what CLAUDE.md and the code say it should; bugs and wrong behaviour, with file:line.
2. Security and robustness problems.
3. Missing tests and unclear or dead code.
Order the findings by severity and end with a one-line verdict: SHIP, FIX FIRST, or REWORK.`;

export const reviewCommand: Command = {
  name: "review",
  summary: "independent review of a project in a new, read-only session",
  usage: "dispatch-cc review --slug SLUG [--prompt TEXT | --prompt-file FILE] [options]",
  options: DISPATCH_OPTIONS,
  details:
    "Runs in a new session with permission plan (read-only) unless --permission says otherwise. The review's\n" +
    "session is kept in .dispatch-logs/last-review-session-id; `resume` goes on with the work session.",
  async run(argv, ctx) {
    const p = parseOptions("review", argv, DISPATCH_OPTIONS);
    const slug = requireSlug(p);
    const flags = requestFromFlags(p, ctx, { permission: "plan" });
    const prompt = (await readPrompt(p, ctx, false)) ?? DEFAULT_REVIEW_PROMPT;
    return runDispatch(
      { ...flags, command: "review", slug, prompt, session: { mode: "new" } },
      ctx,
      outputFromFlags(p),
    );
  },
};
