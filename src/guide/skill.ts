/**
 * The guide for calling assistants (`dispatch-cc guide`) and the Agent Skills file made from it
 * (`skills/dispatch-cc/SKILL.md`): one source, `guide.md` beside this module, so the two cannot drift.
 * `deno task skill` writes the skill file; a test fails when the committed one differs.
 *
 * @module
 */
import guide from "./guide.md" with { type: "text" };

/** The guide, as `dispatch-cc guide` prints it (Markdown). */
export const GUIDE: string = guide;

/** Where the skill file lives in the repository. */
export const SKILL_PATH = "skills/dispatch-cc/SKILL.md";

/** The skill's name (lowercase letters, digits and hyphens; the folder's name). */
export const SKILL_NAME = "dispatch-cc";

/** When an assistant should load the skill (Agent Skills `description`, at most 1024 characters). */
export const SKILL_DESCRIPTION =
  "Hand coding, debugging, code analysis or long writing to a specialist coding agent (Claude Code) " +
  "through the dispatch-cc command line, then follow it up: wait for long runs, resume with feedback, " +
  "get an independent review, and report the true outcome to the user. Use when a task needs real work " +
  "in files that is too big to do in the conversation.";

/**
 * The SKILL.md text: YAML front matter (`name`, `description`), a note saying where it comes from, then
 * the guide.
 *
 * @example
 * ```ts
 * import { GUIDE, skillText } from "./skill.ts";
 * skillText(GUIDE).startsWith("---\nname: dispatch-cc\n"); // true
 * ```
 */
export function skillText(guideText: string): string {
  return [
    "---",
    `name: ${SKILL_NAME}`,
    `description: ${JSON.stringify(SKILL_DESCRIPTION)}`,
    "---",
    "",
    "<!-- Generated from src/guide/guide.md by `deno task skill`: edit that file, not this one. -->",
    "",
    guideText.trimEnd(),
    "",
  ].join("\n");
}
