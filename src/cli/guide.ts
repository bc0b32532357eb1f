import type { Command } from "./context.ts";
import { COMMON_OPTIONS } from "./dispatch_options.ts";
import { parseOptions } from "./options.ts";
import { EXIT } from "../exit_codes.ts";
import { JSON_VERSION } from "./context.ts";
import { GUIDE, SKILL_PATH } from "../guide/skill.ts";

const options = { ...COMMON_OPTIONS };

export const guideCommand: Command = {
  name: "guide",
  summary: "print the guide for a calling assistant: when and how to dispatch (Markdown)",
  usage: "dispatch-cc guide",
  options,
  details: `The same text, with a front matter, is the Agent Skill ${SKILL_PATH} in the repository.\n` +
    '--json: {version, format: "markdown", guide}.',
  run(argv) {
    parseOptions("guide", argv, options);
    return Promise.resolve({
      exitCode: EXIT.success,
      json: { version: JSON_VERSION, format: "markdown", guide: GUIDE },
      text: GUIDE.trimEnd(),
    });
  },
};
