/**
 * The guide (`dispatch-cc guide`) and the skill made from it (skills/dispatch-cc/SKILL.md): one source,
 * and every command the guide shows runs as written, against the real Claude Code CLI and the scripted
 * endpoint.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "yaml";
import { EXIT } from "../src/exit_codes.ts";
import { GUIDE, SKILL_NAME, SKILL_PATH, skillText } from "../src/guide/skill.ts";
import { cliCommand, REPO, runCli } from "./support/cli.ts";
import { startE2E } from "./support/e2e.ts";
import { makeRepo, statusOf } from "./support/git_repo.ts";

Deno.test("SKILL.md is exactly what `deno task skill` makes from the guide (edit src/guide/guide.md, then run it)", async () => {
  const committed = await Deno.readTextFile(join(REPO, SKILL_PATH));
  assert.equal(committed, skillText(GUIDE));
});

Deno.test("SKILL.md has the Agent Skills front matter: a name matching its folder and a short description", async () => {
  const text = await Deno.readTextFile(join(REPO, SKILL_PATH));
  const m = text.match(/^---\n([\s\S]*?)\n---\n/);
  assert.ok(m, "front matter between --- lines at the top");
  const fm = parse(m[1]);
  assert.deepEqual(Object.keys(fm).sort(), ["description", "name"]);
  assert.equal(fm.name, SKILL_NAME);
  assert.equal(SKILL_PATH.split("/").at(-2), fm.name);
  assert.match(fm.name, /^[a-z0-9]+(-[a-z0-9]+)*$/);
  assert.ok(fm.name.length <= 64);
  assert.ok(fm.description.length > 50 && fm.description.length <= 1024);
  assert.ok(text.includes(GUIDE.trim()), "the whole guide follows");
});

Deno.test("`dispatch-cc guide` prints the guide; --json carries the same text", async () => {
  const env = { PATH: Deno.env.get("PATH") ?? "/usr/bin", HOME: "/nonexistent" };
  const r = await runCli(["guide"], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, GUIDE.trimEnd() + "\n");
  const j = await runCli(["guide", "--json"], { env });
  assert.deepEqual(j.json, { version: 1, format: "markdown", guide: GUIDE });
});

Deno.test("the guide's exit-code table names only codes dispatch-cc has", () => {
  const rows = [...GUIDE.matchAll(/^\| (\d+) +\|/gm)].map((m) => Number(m[1]));
  assert.ok(rows.length >= 10, `found ${rows.length} rows`);
  const known = new Set<number>(Object.values(EXIT));
  assert.deepEqual(rows.filter((c) => !known.has(c)), []);
});

/** Every line of the guide's code blocks (indented or fenced) that is a dispatch-cc command. */
function guideCommands(guide: string): string[] {
  const out: string[] = [];
  let fenced = false;
  for (const line of guide.split("\n")) {
    if (line.startsWith("```")) {
      fenced = !fenced;
      continue;
    }
    const code = fenced ? line : line.startsWith("    ") ? line.slice(4) : null;
    if (code?.startsWith("dispatch-cc ")) out.push(code);
  }
  return out;
}

Deno.test("every command in the guide runs as written, in the guide's order, against the scripted endpoint", async () => {
  const commands = guideCommands(GUIDE);
  // The loop the guide teaches is all there.
  const verbs = [
    "run",
    "resume",
    "wait",
    "review",
    "logs",
    "cancel",
    "status",
    "list",
    "doctor",
    "diff",
    "merge",
  ];
  for (const verb of [...verbs, "remove"]) {
    assert.ok(
      commands.some((c) => c.startsWith(`dispatch-cc ${verb} `) || c === `dispatch-cc ${verb}`),
      verb,
    );
  }
  const e = await startE2E();
  try {
    // `dispatch-cc` on PATH, as a user has it: the source with its declared permissions.
    const bin = join(e.root, "bin");
    const work = join(e.root, "work");
    await Deno.mkdir(bin);
    await Deno.mkdir(work);
    const { cmd, args } = cliCommand();
    const quoted = [cmd, ...args].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
    await Deno.writeTextFile(join(bin, "dispatch-cc"), `#!/bin/sh\nexec ${quoted} "$@"\n`);
    await Deno.chmod(join(bin, "dispatch-cc"), 0o755);
    // The files the guide's commands name.
    const spec = GUIDE.match(/Example `spec\.md`:\n\n```markdown\n([\s\S]*?)```/)?.[1];
    assert.ok(spec, "the guide shows an example spec.md");
    await Deno.writeTextFile(join(work, "spec.md"), spec);
    await Deno.writeTextFile(join(work, "feedback.md"), "Return 404 for a missing id.\n");
    // The repository the guide's `--repo ~/src/webapp` names (HOME is the run's own), with a git identity.
    const webapp = await makeRepo(join(e.env.HOME, "src", "webapp"), { "README.md": "# webapp teh app\n" });
    const env = { ...e.env, PATH: `${bin}:${e.env.PATH ?? Deno.env.get("PATH")}` };
    for (const line of commands) {
      const r = await new Deno.Command("sh", {
        args: ["-c", line],
        cwd: work,
        env,
        clearEnv: true,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(r.stdout);
      const stderr = new TextDecoder().decode(r.stderr);
      assert.equal(r.code, 0, `${line}\nexit ${r.code}\n${stdout}\n${stderr}`);
      if (line.includes("--json")) {
        const doc = JSON.parse(stdout);
        assert.equal(doc.version, 1, line);
        if (/ (run|resume|review|wait) /.test(line) && !line.includes("--detach")) {
          assert.equal(doc.status, "success", line);
        }
        if (line.includes("--detach")) assert.equal(doc.status, "started", line);
      }
    }
    // The runs the guide started all happened, in its order.
    const h = await runCli(["history", "--slug", "todo-api", "--json"], { env: e.env });
    assert.deepEqual(
      h.json.runs.map((r: { command: string; status: string }) => `${r.command}:${r.status}`).sort(),
      ["resume:success", "review:success", "review:success", "run:success"],
    );
    // The repository project was merged and removed; the user's checkout is clean.
    assert.equal(await statusOf(webapp), "");
    const l = await runCli(["list", "--json"], { env: e.env });
    assert.ok(!JSON.stringify(l.json).includes("fix-readme"), "removed");
  } finally {
    await e.cleanup();
  }
});
