/**
 * The README and the main help against the code: the exit-code table against src/exit_codes.ts, the
 * command table against the commands main.ts knows, the configuration table against what the help lists.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { EXIT } from "../src/exit_codes.ts";
import { COMMAND_LOADERS } from "../src/main.ts";
import { REPO, runCli } from "./support/cli.ts";

const README = await Deno.readTextFile(join(REPO, "README.md"));

/** The text of the section under `heading` (a whole heading line), up to the next heading of any level. */
function section(heading: string): string {
  const start = README.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `README has "${heading}"`);
  const rest = README.slice(start + heading.length + 2);
  const end = rest.search(/^#/m);
  return end < 0 ? rest : rest.slice(0, end);
}

const codes = new Set<number>(Object.values(EXIT));
const sorted = (xs: Iterable<number>) => [...new Set(xs)].sort((a, b) => a - b);

Deno.test("README's exit-code table has exactly the codes of src/exit_codes.ts", () => {
  const rows = [...section("### Outcomes and exit codes").matchAll(/^\| (\d+) +\|/gm)].map((m) =>
    Number(m[1])
  );
  assert.deepEqual(sorted(rows), sorted(codes));
  assert.equal(rows.length, codes.size, "each code once");
});

Deno.test("README's command table names every command dispatch-cc has, and no other", () => {
  const rows = [...section("## Commands").matchAll(/^\| `([a-z][a-z-]*)[ `]/gm)].map((m) => m[1]);
  assert.deepEqual([...rows].sort(), Object.keys(COMMAND_LOADERS).sort());
});

Deno.test("the main help lists every command, every variable of README's Configuration and every exit code", async () => {
  const r = await runCli(["--help"], {
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin", HOME: "/nonexistent" },
  });
  assert.equal(r.code, 0, r.stderr);
  for (const name of Object.keys(COMMAND_LOADERS)) {
    assert.match(r.stdout, new RegExp(`^  ${name} `, "m"), name);
  }
  const vars = [...section("## Configuration").matchAll(/^\| `(DISPATCH_[A-Z_]+)`/gm)].map((m) => m[1]);
  assert.ok(vars.length >= 6, `found ${vars.length} variables`);
  for (const v of vars) assert.ok(r.stdout.includes(v), v);
  const exitText = r.stdout.slice(r.stdout.indexOf("Exit codes:"));
  const listed = [...exitText.matchAll(/(?:^|[:,]) *(?:\n *)?(\d+) /g)].map((m) => Number(m[1]));
  assert.deepEqual(sorted(listed), sorted(codes));
});
