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
import { DEFAULT_REVIEW_PROMPT } from "../runner/review_prompt.ts";

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
