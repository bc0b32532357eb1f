/**
 * `deno task skill`: writes skills/dispatch-cc/SKILL.md from the guide (src/guide/guide.md), so the skill
 * and `dispatch-cc guide` say the same. `--check` only compares, and exits 1 when the file is out of date.
 */
import { fileURLToPath } from "node:url";
import { GUIDE, SKILL_PATH, skillText } from "../src/guide/skill.ts";

const path = fileURLToPath(new URL(`../${SKILL_PATH}`, import.meta.url));
const want = skillText(GUIDE);
const have = await Deno.readTextFile(path).catch(() => null);
if (Deno.args.includes("--check")) {
  if (have === want) Deno.exit(0);
  console.error(`${SKILL_PATH} is out of date with src/guide/guide.md: run deno task skill`);
  Deno.exit(1);
}
if (have !== want) {
  await Deno.mkdir(new URL(".", `file://${path}`), { recursive: true });
  const tmp = `${path}.tmp`;
  await Deno.writeTextFile(tmp, want);
  await Deno.rename(tmp, path);
  console.error(`wrote ${SKILL_PATH}`);
} else console.error(`${SKILL_PATH} is up to date`);
