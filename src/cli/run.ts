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

const options = {
  ...DISPATCH_OPTIONS,
  desc: {
    type: "string" as const,
    arg: "TEXT",
    help: "project description (default: the prompt's first 100 characters)",
  },
};

export const runCommand: Command = {
  name: "run",
  summary: "create or reuse a project and run Claude Code on a prompt in a new session",
  usage: "dispatch-cc run --slug SLUG (--prompt TEXT | --prompt-file FILE) [options]",
  options,
  async run(argv, ctx) {
    const p = parseOptions("run", argv, options);
    const slug = requireSlug(p);
    const flags = requestFromFlags(p, ctx);
    const prompt = (await readPrompt(p, ctx, true))!;
    return runDispatch(
      { ...flags, command: "run", slug, prompt, session: { mode: "new" } },
      ctx,
      outputFromFlags(p),
    );
  },
};
