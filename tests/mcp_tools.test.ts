/** The MCP tools' inputs come from each command's own option table and go back to its argv unchanged. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { z } from "zod";
import { DENO_RUN_FLAGS } from "../src/run_flags.ts";
import { CONFIG, MAIN } from "./support/cli.ts";
import type { Command } from "../src/cli/context.ts";
import { argvFor, inputShape, TOOL_DEFS, type ToolDef } from "../src/mcp/tools.ts";

const fake: Command = {
  name: "run",
  summary: "s",
  usage: "u",
  options: {
    slug: { type: "string", arg: "SLUG", help: "the project" },
    "brand-new": { type: "string", arg: "THING", help: "an option added later" },
    "max-turns": { type: "string", arg: "N", help: "turns" },
    "allowed-tools": { type: "string", multiple: true, arg: "TOOLS", help: "tools" },
    wait: { type: "boolean", help: "lock" },
    detach: { type: "boolean", help: "bg" },
    json: { type: "boolean", help: "json" },
  },
  run: () => Promise.reject(new Error("not run")),
};
const runDef: ToolDef = TOOL_DEFS.find((d) => d.name === "run")!;

Deno.test("a command's new option appears in its tool's input without an edit; terminal-only options do not", () => {
  const shape = inputShape(runDef, fake);
  assert.deepEqual(Object.keys(shape).sort(), [
    "allowed_tools",
    "brand_new",
    "max_turns",
    "slug",
    "wait_for_lock",
    "wait_s",
  ]);
  const schema = z.object(shape);
  assert.equal(schema.safeParse({ max_turns: 3 }).success, false, "slug is required");
  assert.equal(schema.safeParse({ slug: "a", max_turns: "3" }).success, false, "numbers are numbers");
  assert.equal(schema.safeParse({ slug: "a", brand_new: "x", allowed_tools: ["Read"] }).success, true);
});

Deno.test("inputs become the command's argv: values stay values, lists repeat, false flags vanish, positionals last", () => {
  const argv = argvFor(runDef, fake, {
    slug: "-dash",
    max_turns: 3,
    allowed_tools: ["Read", "Bash(git log:*)"],
    wait_for_lock: true,
    wait_s: 10,
  }, ["--detach", "--json"]);
  assert.deepEqual(argv, [
    "--slug=-dash",
    "--max-turns=3",
    "--allowed-tools=Read",
    "--allowed-tools=Bash(git log:*)",
    "--wait",
    "--detach",
    "--json",
  ]);
  const applyDef = TOOL_DEFS.find((d) => d.name === "apply")!;
  assert.deepEqual(
    argvFor(applyDef, { ...fake, name: "apply" }, { files: ["--x.yaml", "b.yaml"], wait_for_lock: false }, [
      "--json",
    ]),
    ["--json", "--", "--x.yaml", "b.yaml"],
  );
});

Deno.test("other commands start without the MCP SDK: list runs with no npm package at hand, mcp does not", async () => {
  const empty = await Deno.makeTempDir({ prefix: "dispatch-no-npm-" });
  try {
    const run = async (args: string[]) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--config", CONFIG, ...DENO_RUN_FLAGS, "--cached-only", MAIN, ...args],
        env: { DENO_DIR: join(empty, "deno"), DISPATCH_PROJECTS_DIR: join(empty, "projects"), HOME: empty },
        clearEnv: true,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
    };
    const list = await run(["list", "--json"]);
    assert.equal(list.code, 0, list.stderr);
    // The check can fail: the server itself needs the packages.
    const mcp = await run(["mcp"]);
    assert.notEqual(mcp.code, 0);
    assert.match(mcp.stderr, /npm package/);
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});
