import { type Command, JSON_VERSION } from "./context.ts";
import { COMMON_OPTIONS } from "./dispatch_options.ts";
import { parseOptions } from "./options.ts";
import { UsageError } from "../errors.ts";
import { EXIT } from "../exit_codes.ts";
import { renderProblems } from "../render/apply.ts";
import { validateFiles } from "../spec/commands.ts";
import { taskFilePaths, taskFileTrust, TRUST_OPTIONS } from "./apply.ts";

const options = {
  ...TRUST_OPTIONS,
  env: { type: "string", multiple: true, arg: "NAME", help: "as apply's --env: allows the name too" },
  ...COMMON_OPTIONS,
} as const;

export const validateCommand: Command = {
  name: "validate",
  summary: "check task files and report every problem as file:line:col: message; runs nothing",
  usage: "dispatch-cc validate FILE... [--allow-env NAME[,NAME]]... [--allow-path DIR]... [--json]",
  options,
  positionals: true,
  details: "Exit code 0 when every file is valid, 2 when any problem was found. A task file may pass only\n" +
    "the variables you allow (--allow-env, --env) and read only files in its own folder (--allow-path\n" +
    "for more): give validate the same flags you will give apply.\n" +
    "--json: {version, ok, tasks, problems: [{file, line, col, message}]}",
  async run(argv, ctx) {
    const p = parseOptions("validate", argv, options, true);
    if (p.positionals.length === 0) throw new UsageError("validate: name at least one task file");
    const trust = await taskFileTrust(p, ctx.config.userCwd);
    const result = await validateFiles(
      taskFilePaths(p.positionals, ctx.config.userCwd),
      undefined,
      undefined,
      trust,
    );
    return {
      exitCode: result.ok ? EXIT.success : EXIT.usage,
      json: { version: JSON_VERSION, ok: result.ok, tasks: result.tasks, problems: result.problems },
      text: renderProblems(result.problems, result.tasks),
    };
  },
};
