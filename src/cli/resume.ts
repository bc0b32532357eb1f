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

export const resumeCommand: Command = {
  name: "resume",
  summary: "continue the project's work session with a new prompt",
  usage: "dispatch-cc resume --slug SLUG (--prompt TEXT | --prompt-file FILE) [options]",
  options: DISPATCH_OPTIONS,
  details:
    "Continues the session in .dispatch-logs/last-session-id. When there is none, or Claude Code no longer\n" +
    "knows it, a new session starts and a warning says so. Reviews never replace the work session.",
  async run(argv, ctx) {
    const p = parseOptions("resume", argv, DISPATCH_OPTIONS);
    const slug = requireSlug(p);
    const flags = requestFromFlags(p, ctx);
    const prompt = (await readPrompt(p, ctx, true))!;
    return runDispatch(
      { ...flags, command: "resume", slug, prompt, session: { mode: "continue" } },
      ctx,
      outputFromFlags(p),
    );
  },
};
