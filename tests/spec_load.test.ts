import assert from "node:assert/strict";
import { join } from "node:path";
import {
  formatProblem,
  type LoadResult,
  loadTaskFile,
  loadTaskFiles,
  MAX_TASK_FILE_BYTES,
  type ReadTextFile,
  type StatFile,
  type TaskFileTrust,
} from "../src/spec/load.ts";
import { validateFiles } from "../src/spec/commands.ts";

const EXAMPLES = new URL("../tasks.example/", import.meta.url).pathname;

/** An in-memory file system: the loader's file access, without touching the disk. */
function memoryFs(files: Record<string, string>): { read: ReadTextFile; stat: StatFile; reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    read: (path) => {
      reads.push(path);
      return path in files ? Promise.resolve(files[path]) : Promise.reject(new Deno.errors.NotFound(path));
    },
    stat: (path) =>
      path in files
        ? Promise.resolve({ size: new TextEncoder().encode(files[path]).length, isFile: true })
        : Promise.reject(new Deno.errors.NotFound(path)),
  };
}

/** Loads `/tasks/t.yaml` with the given text (and other files) from memory. */
function load(
  text: string,
  others: Record<string, string> = {},
  trust: TaskFileTrust = {},
): Promise<LoadResult> {
  const fs = memoryFs({ "/tasks/t.yaml": text, ...others });
  return loadTaskFile("/tasks/t.yaml", fs.read, fs.stat, {}, trust);
}

/** The problems of a file as "line:col: message". */
async function problemsOf(
  text: string,
  others: Record<string, string> = {},
  trust: TaskFileTrust = {},
): Promise<string[]> {
  const { problems } = await load(text, others, trust);
  return problems.map((p) => formatProblem(p).replace("/tasks/t.yaml:", ""));
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "spec_load_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("formatProblem prints file:line:col: message", () => {
  assert.equal(formatProblem({ file: "a.yaml", line: 3, col: 7, message: "bad" }), "a.yaml:3:7: bad");
});

Deno.test("a task with every field loads normalized, with prompt files read relative to the task file", async () => {
  const text = `# yaml-language-server: $schema=./task.schema.json
slug: todo-api
description: TODO API
prompt_file: prompts/main.md
system_prompt: Be brief
permission: dangerously-skip-permissions
allowed_tools: [Read, Write]
disallowed_tools: [WebFetch]
model: opus
timeout: 10m
max_turns: 20
max_budget_usd: 2.5
env: [GITHUB_TOKEN]
sandbox: true
follow_ups:
  - Add tests.
  - prompt_file: ../shared/more.md
    timeout: 90s
    permission: plan
    model: sonnet
    max_turns: 5
    when: always
review:
  prompt_file: review.md
  model: opus
  permission: default
`;
  const { tasks, problems } = await load(text, {
    "/tasks/prompts/main.md": "Build the API.\n",
    "/shared/more.md": "Write the README.\n",
    "/tasks/review.md": "Review it.\n",
  }, { allowEnv: ["GITHUB_TOKEN"], allowPaths: ["/shared"] });
  assert.deepEqual(problems, []);
  assert.equal(tasks.length, 1);
  assert.deepEqual(tasks[0], {
    file: "/tasks/t.yaml",
    index: 0,
    line: 2,
    slugAt: { line: 2, col: 7 },
    permissionAt: {
      permission: { line: 6, col: 13 },
      "follow_ups[1].permission": { line: 19, col: 17 },
      "review.permission": { line: 26, col: 15 },
    },
    spec: {
      slug: "todo-api",
      description: "TODO API",
      prompt: "Build the API.\n",
      prompt_file: "/tasks/prompts/main.md",
      system_prompt: "Be brief",
      permission: "bypassPermissions",
      allowed_tools: ["Read", "Write"],
      disallowed_tools: ["WebFetch"],
      model: "opus",
      timeout: 600,
      max_turns: 20,
      max_budget_usd: 2.5,
      env: ["GITHUB_TOKEN"],
      sandbox: { enabled: true, network: true },
      follow_ups: [
        { prompt: "Add tests.", when: "success" },
        {
          prompt: "Write the README.\n",
          prompt_file: "/shared/more.md",
          timeout: 90,
          permission: "plan",
          model: "sonnet",
          max_turns: 5,
          when: "always",
        },
      ],
      review: {
        prompt: "Review it.\n",
        prompt_file: "/tasks/review.md",
        model: "opus",
        permission: "default",
      },
    },
  });
});

Deno.test("defaults: no follow-ups, no review, no env; absent settings stay absent", async () => {
  const { tasks, problems } = await load("slug: a\nprompt: x\n");
  assert.deepEqual(problems, []);
  assert.deepEqual(tasks[0].spec, { slug: "a", prompt: "x", follow_ups: [], review: null, env: [] });
  const withReview = await load("slug: a\nprompt: x\nreview: true\n");
  assert.deepEqual(withReview.tasks[0].spec.review, {});
  const noReview = await load("slug: a\nprompt: x\nreview: false\n");
  assert.equal(noReview.tasks[0].spec.review, null);
});

Deno.test("several documents load as several tasks with their index and line", async () => {
  const text =
    "# header\nslug: one\nprompt: a\n---\n# second\nslug: two\nprompt: b\n---\nslug: three\nprompt: c\n";
  const { tasks, problems } = await load(text);
  assert.deepEqual(problems, []);
  assert.deepEqual(tasks.map((t) => [t.spec.slug, t.index, t.line]), [["one", 0, 2], ["two", 1, 6], [
    "three",
    2,
    9,
  ]]);
});

Deno.test("positions in later documents count lines from the start of the file", async () => {
  const text = "slug: one\nprompt: a\n---\nslug: two\nprompt: b\ntimeout: -1\n";
  assert.deepEqual(await problemsOf(text), ["6:10: timeout: must be a positive number of seconds"]);
});

Deno.test("every problem in every document is reported, sorted by position", async () => {
  const text = `slug: .bad
promt: hi
timeout: -5
permission: acceptedits
---
slug: ok
prompt: ""
max_turns: 0
`;
  assert.deepEqual(await problemsOf(text), [
    "1:1: needs exactly one of prompt or prompt_file",
    '1:7: slug: must not start with "." (got ".bad")',
    '2:1: unknown key "promt" (did you mean "prompt"?)',
    "3:10: timeout: must be a positive number of seconds",
    '4:13: permission: unknown permission mode "acceptedits" (did you mean "acceptEdits"?); expected one of: plan, dontAsk, default, acceptEdits, auto, bypassPermissions, dangerously-skip-permissions, bypass',
    "7:9: prompt: must not be empty (prompt text)",
    "8:12: max_turns: must be at least 1",
  ]);
});

Deno.test("unknown keys point at the key, with a suggestion, at any depth", async () => {
  const text = `slug: a
prompt: x
allowed-tools: [Read]
follow_ups:
  - prompt: y
    tiemout: 5
review:
  modle: opus
sandbox:
  netwrk: false
zzzzzz: 1
`;
  assert.deepEqual(await problemsOf(text), [
    '3:1: unknown key "allowed-tools" (did you mean "allowed_tools"?)',
    '6:5: follow_ups[0]: unknown key "tiemout" (did you mean "timeout"?)',
    '8:3: review: unknown key "modle" (did you mean "model"?)',
    '10:3: sandbox: unknown key "netwrk" (did you mean "network"?)',
    '11:1: unknown key "zzzzzz" (allowed: slug, description, agent, prompt, prompt_file, system_prompt, permission, ' +
    "allowed_tools, disallowed_tools, model, timeout, max_turns, max_budget_usd, env, sandbox, repo, base, follow_ups, " +
    "review, output_schema, verify, on_done)",
  ]);
});

Deno.test("wrong types point at the value and say what was expected", async () => {
  const text = `slug: 42
prompt: [a, b]
allowed_tools: Read
max_budget_usd: lots
env: [A-B]
sandbox: yes
follow_ups:
  - 5
  - prompt: y
    timeout: true
review: maybe
`;
  assert.deepEqual(await problemsOf(text), [
    "1:7: slug: expected a slug, got number 42",
    "2:9: prompt: expected prompt text, got a list",
    '3:16: allowed_tools: expected a list of tool names, got string "Read"',
    '4:17: max_budget_usd: expected a number, got string "lots"',
    '5:7: env[0]: invalid environment variable name "A-B"',
    '6:10: sandbox: expected true, false or a mapping with network, got string "yes"',
    "8:5: follow_ups[0]: expected a prompt string or a mapping with prompt or prompt_file, got number 5",
    '10:14: follow_ups[1].timeout: expected a positive number of seconds or a duration like "90s", "10m", "1h", got boolean true',
    '11:9: review: expected true, false or a mapping with prompt, prompt_file, model, permission, got string "maybe"',
  ]);
});

Deno.test("an empty prompt is refused at its key; an empty value too", async () => {
  assert.deepEqual(await problemsOf("slug: a\nprompt: '   '\n"), [
    "2:9: prompt: must not be empty (prompt text)",
  ]);
  assert.deepEqual(await problemsOf("slug: a\nprompt:\n"), [
    "2:1: prompt: expected prompt text, got an empty value",
  ]);
});

Deno.test("prompt and prompt_file together, or neither, are refused", async () => {
  assert.deepEqual(await problemsOf("slug: a\nprompt: x\nprompt_file: p.md\n", { "/tasks/p.md": "P" }), [
    "3:14: prompt_file: give exactly one of prompt or prompt_file, not both",
  ]);
  assert.deepEqual(await problemsOf("# c\nslug: a\n"), ["2:1: needs exactly one of prompt or prompt_file"]);
  assert.deepEqual(await problemsOf("slug: a\nprompt: x\nfollow_ups:\n  - when: always\n"), [
    "4:5: follow_ups[0]: needs exactly one of prompt or prompt_file",
  ]);
});

Deno.test("a missing slug is reported at the document", async () => {
  assert.deepEqual(await problemsOf("# c\n\nprompt: x\n"), ['3:1: missing required key "slug"']);
});

Deno.test("a missing prompt_file is reported at its value, relative to the task file's directory", async () => {
  const problems = await problemsOf(
    "slug: a\nprompt_file: nope.md\nfollow_ups:\n  - prompt_file: sub/more.md\nreview:\n  prompt_file: r.md\n",
    { "/nope.md": "wrong directory", "/tasks/r.md": "Review." },
  );
  assert.deepEqual(problems, [
    '2:14: prompt_file: cannot read "nope.md" (/tasks/nope.md): not found',
    '4:18: follow_ups[0].prompt_file: cannot read "sub/more.md" (/tasks/sub/more.md): not found',
  ]);
});

Deno.test("a missing prompt_file is reported together with the document's other problems", async () => {
  assert.deepEqual(
    await problemsOf("slug: a\nprompt_file: nope.md\ntimeout: -1\nfollow_ups: [{prompt_file: gone.md}]\n"),
    [
      '2:14: prompt_file: cannot read "nope.md" (/tasks/nope.md): not found',
      "3:10: timeout: must be a positive number of seconds",
      '4:28: follow_ups[0].prompt_file: cannot read "gone.md" (/tasks/gone.md): not found',
    ],
  );
});

Deno.test("an empty prompt_file is refused", async () => {
  assert.deepEqual(await problemsOf("slug: a\nprompt_file: p.md\n", { "/tasks/p.md": " \n\n" }), [
    '2:14: prompt_file: "p.md" is empty',
  ]);
});

Deno.test("prompt_file is resolved against the task file's directory on disk", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(join(dir, "sub"));
    await Deno.writeTextFile(join(dir, "sub", "task.yaml"), "slug: a\nprompt_file: ../prompt.md\n");
    await Deno.writeTextFile(join(dir, "prompt.md"), "From disk.");
    const { tasks, problems } = await loadTaskFile(join(dir, "sub", "task.yaml"), undefined, undefined, {}, {
      allowPaths: [await Deno.realPath(dir)],
    });
    assert.deepEqual(problems, []);
    assert.equal(tasks[0].spec.prompt, "From disk.");
    assert.equal(tasks[0].spec.prompt_file, join(dir, "prompt.md"));
  });
});

Deno.test("invalid YAML keeps the parser's first line without its 'at line' suffix", async () => {
  assert.deepEqual(await problemsOf("slug: a\nprompt: 'unterminated\n"), ["3:1: Missing closing 'quote"]);
  assert.deepEqual(await problemsOf("slug: [a\nprompt: x\n"), [
    "2:1: Flow sequence in block collection must be sufficiently indented and end with a ]",
  ]);
  for (const line of await problemsOf("slug: a\nprompt: 'x\n")) assert.doesNotMatch(line, /at line \d+/);
});

Deno.test("duplicate keys are refused at the second key", async () => {
  assert.deepEqual(await problemsOf("slug: a\nprompt: x\nslug: b\n"), ["3:1: Map keys must be unique"]);
});

Deno.test("tabs as indentation are refused", async () => {
  assert.deepEqual(await problemsOf("slug: a\nfollow_ups:\n\t- x\nprompt: y\n"), [
    "3:1: Tabs are not allowed as indentation",
  ]);
});

Deno.test("an unknown tag is reported", async () => {
  assert.deepEqual(await problemsOf("slug: a\nprompt: !secret x\n"), ["2:9: Unresolved tag: !secret"]);
});

Deno.test("an empty file and a comments-only file have no task", async () => {
  assert.deepEqual(await problemsOf(""), ["1:1: no task in file (it is empty or only comments)"]);
  assert.deepEqual(await problemsOf("\n  \n"), ["1:1: no task in file (it is empty or only comments)"]);
  assert.deepEqual(await problemsOf("# nothing here\n# yet\n"), [
    "1:1: no task in file (it is empty or only comments)",
  ]);
});

Deno.test("an empty or comments-only document among others is reported at its ---", async () => {
  assert.deepEqual(await problemsOf("slug: a\nprompt: x\n---\n# only a comment\n---\nslug: b\nprompt: y\n"), [
    '3:1: document 2 is empty (remove the extra "---")',
  ]);
  assert.deepEqual(await problemsOf("slug: a\nprompt: x\n---\n"), [
    '3:1: document 2 is empty (remove the extra "---")',
  ]);
});

Deno.test("a document that is not a mapping is refused", async () => {
  assert.deepEqual(await problemsOf("- slug: a\n  prompt: x\n"), [
    "1:1: expected a mapping of task keys (slug, prompt, ...), got a list",
  ]);
  assert.deepEqual(await problemsOf("just some text\n"), [
    '1:1: expected a mapping of task keys (slug, prompt, ...), got string "just some text"',
  ]);
});

Deno.test("a YAML alias bomb is reported, quickly, instead of expanded", async () => {
  let text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (let i = 1; i < 30; i++) text += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(", ")}]\n`;
  text += "slug: bomb\nprompt: boom\n";
  // Expanded, it would be 10^30 values: finishing at all is the proof (speed: `deno task bench`).
  const problems = await problemsOf(text);
  assert.deepEqual(problems, [
    "1:1: YAML aliases expand to too many values (over 100); write the values out instead",
  ]);
});

Deno.test("a few YAML aliases are fine", async () => {
  const { tasks, problems } = await load("slug: a\nprompt: &p Do it.\nfollow_ups: [*p, *p]\n");
  assert.deepEqual(problems, []);
  assert.deepEqual(tasks[0].spec.follow_ups.map((f) => f.prompt), ["Do it.", "Do it."]);
});

Deno.test("an unresolved alias is reported", async () => {
  const problems = await problemsOf("slug: a\nprompt: *nothing\n");
  assert.equal(problems.length, 1);
  assert.match(problems[0], /nothing/);
});

Deno.test("a file over 1 MiB is refused without being read", async () => {
  const fs = memoryFs({});
  const stat: StatFile = () => Promise.resolve({ size: 10 * 1024 * 1024, isFile: true });
  const { tasks, problems } = await loadTaskFile("/big.yaml", fs.read, stat);
  assert.deepEqual(tasks, []);
  assert.deepEqual(problems.map(formatProblem), [
    "/big.yaml:1:1: cannot read task file: is 10.0 MiB, over the 1.0 MiB limit",
  ]);
  assert.deepEqual(fs.reads, []);
});

Deno.test("a real 10 MB task file is refused", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "big.yaml");
    await Deno.writeTextFile(path, "slug: a\nprompt: " + "x".repeat(10 * 1000 * 1000) + "\n");
    const { problems } = await loadTaskFile(path);
    assert.equal(problems.length, 1);
    assert.match(problems[0].message, /over the 1\.0 MiB limit/);
  });
});

Deno.test("a file of exactly 1 MiB is read", async () => {
  const text = "slug: a\nprompt: " + "x".repeat(MAX_TASK_FILE_BYTES - 17) + "\n";
  assert.equal(text.length, MAX_TASK_FILE_BYTES);
  const { tasks, problems } = await load(text);
  assert.deepEqual(problems, []);
  assert.equal(tasks.length, 1);
});

Deno.test("a prompt_file over 1 MiB is refused", async () => {
  const problems = await problemsOf("slug: a\nprompt_file: big.md\n", {
    "/tasks/big.md": "x".repeat(MAX_TASK_FILE_BYTES + 1),
  });
  assert.deepEqual(problems, [
    '2:14: prompt_file: cannot read "big.md" (/tasks/big.md): is 1.0 MiB, over the 1.0 MiB limit',
  ]);
});

Deno.test("a missing task file and a directory are reported", async () => {
  await withTempDir(async (dir) => {
    const missing = await loadTaskFile(join(dir, "nope.yaml"));
    assert.deepEqual(missing.problems.map((p) => p.message), ["cannot read task file: not found"]);
    const directory = await loadTaskFile(dir);
    assert.deepEqual(directory.problems.map((p) => p.message), [
      "cannot read task file: is not a regular file",
    ]);
  });
});

Deno.test("the same slug twice in one file is allowed: the tasks run in file order on one project", async () => {
  const { tasks, problems } = await load("slug: a\nprompt: x\n---\nslug: a\nprompt: y\n");
  assert.deepEqual(problems, []);
  assert.deepEqual(tasks.map((t) => [t.spec.slug, t.spec.prompt, t.index]), [["a", "x", 0], ["a", "y", 1]]);
});

Deno.test("--set values replace top-level keys before validation; their problems say --set", async () => {
  const fs = memoryFs({ "/t/a.yaml": "slug: a\nprompt_file: p.md\ntimeout: 10m\n", "/t/p.md": "from file" });
  const ok = await loadTaskFile("/t/a.yaml", fs.read, fs.stat, { prompt: "inline", timeout: 90 });
  assert.deepEqual(ok.problems, []);
  assert.equal(ok.tasks[0].spec.prompt, "inline");
  assert.equal(ok.tasks[0].spec.timeout, 90);
  const bad = await loadTaskFile("/t/a.yaml", fs.read, fs.stat, { max_turns: 0 });
  assert.deepEqual(bad.problems.map(formatProblem), ["/t/a.yaml:1:1: --set max_turns: must be at least 1"]);
});

Deno.test("loadTaskFiles reports a slug used in two files and keeps files in the order given", async () => {
  const fs = memoryFs({
    "/t/b.yaml": "slug: shared\nprompt: x\n---\nslug: only-b\nprompt: y\n",
    "/t/a.yaml": "# a\nslug: other\nprompt: x\n---\nslug: shared\nprompt: y\ntimeout: 0\n",
  });
  const { tasks, problems } = await loadTaskFiles(["/t/b.yaml", "/t/a.yaml"], fs.read, fs.stat);
  assert.deepEqual(tasks.map((t) => t.spec.slug), ["shared", "only-b", "other"]);
  assert.deepEqual(problems.map(formatProblem), [
    "/t/a.yaml:7:10: timeout: must be a positive number of seconds",
  ]);

  const fixed = memoryFs({
    "/t/b.yaml": "slug: shared\nprompt: x\n",
    "/t/a.yaml": "# a\nslug: other\nprompt: x\n---\nslug: shared\nprompt: y\n",
  });
  const result = await loadTaskFiles(["/t/b.yaml", "/t/a.yaml"], fixed.read, fixed.stat);
  assert.deepEqual(result.problems.map(formatProblem), [
    '/t/a.yaml:5:7: slug "shared" is also used in /t/b.yaml:1; slugs must be unique',
  ]);
});

Deno.test("loadTaskFiles loads a file named twice only once", async () => {
  const fs = memoryFs({ "/t/a.yaml": "slug: a\nprompt: x\n" });
  const { tasks, problems } = await loadTaskFiles(["/t/a.yaml", "/t/../t/a.yaml"], fs.read, fs.stat);
  assert.deepEqual(problems, []);
  assert.equal(tasks.length, 1);
});

Deno.test("validateFiles reports ok, the problems and the number of valid tasks", async () => {
  const fs = memoryFs({ "/t/good.yaml": "slug: a\nprompt: x\n", "/t/bad.yaml": "slug: b\n" });
  assert.deepEqual(await validateFiles(["/t/good.yaml"], fs.read, fs.stat), {
    ok: true,
    problems: [],
    tasks: 1,
  });
  const bad = await validateFiles(["/t/good.yaml", "/t/bad.yaml"], fs.read, fs.stat);
  assert.equal(bad.ok, false);
  assert.equal(bad.tasks, 1);
  assert.deepEqual(bad.problems.map(formatProblem), [
    "/t/bad.yaml:1:1: needs exactly one of prompt or prompt_file",
  ]);
});

Deno.test("every task file in tasks.example validates and declares the schema on its first line", async () => {
  const files = [...Deno.readDirSync(EXAMPLES)]
    .filter((e) => e.isFile && /\.ya?ml$/.test(e.name))
    .map((e) => join(EXAMPLES, e.name))
    .sort();
  for (const name of ["analyze-readonly.yaml", "build-todo-api.yaml", "multi.yaml"]) {
    assert.ok(files.includes(join(EXAMPLES, name)), `${name} exists`);
  }
  for (const file of files) {
    const result = await validateFiles([file]);
    assert.deepEqual(result.problems.map(formatProblem), [], file);
    assert.ok(result.tasks >= 1, file);
    const firstLine = (await Deno.readTextFile(file)).split("\n")[0];
    assert.equal(firstLine, "# yaml-language-server: $schema=./task.schema.json", file);
  }
  const all = await validateFiles(files);
  assert.equal(all.ok, true, "no slug is used twice across the examples");
});

Deno.test("the examples show what they are meant to show", async () => {
  const build = (await loadTaskFile(join(EXAMPLES, "build-todo-api.yaml"))).tasks;
  assert.equal(build.length, 1);
  assert.equal(build[0].spec.follow_ups.length, 2);
  assert.ok(build[0].spec.review);
  const analysis = (await loadTaskFile(join(EXAMPLES, "analyze-readonly.yaml"))).tasks;
  assert.equal(analysis[0].spec.permission, "plan");
  const multi = (await loadTaskFile(join(EXAMPLES, "multi.yaml"))).tasks;
  assert.equal(multi.length, 2);
});

// What a task file can reach (issue 11 items 4 and 5): positions of refused entries, and the caller's leave.

Deno.test("env: a name the caller did not allow is refused at its entry; allowed, inherited and --set names pass", async () => {
  const text =
    "slug: a\nprompt: x\nenv:\n  - PATH\n  - SECRET_TOKEN\n  - ANTHROPIC_API_KEY\n  - GITHUB_TOKEN\n";
  assert.deepEqual(await problemsOf(text), [
    "5:5: env[1]: the task file asks for your variable SECRET_TOKEN; it passes only if you allow it: " +
    "--allow-env SECRET_TOKEN (or --env SECRET_TOKEN on apply)",
    "7:5: env[3]: the task file asks for your variable GITHUB_TOKEN; it passes only if you allow it: " +
    "--allow-env GITHUB_TOKEN (or --env GITHUB_TOKEN on apply)",
  ]);
  const flow = await problemsOf("slug: a\nprompt: x\nenv: [HOME, SECRET_TOKEN]\n", {}, {
    allowEnv: ["OTHER"],
  });
  assert.deepEqual(flow.map((l) => l.split(": ")[0]), ["3:13"]);
  const allowed = await load(text, {}, { allowEnv: ["SECRET_TOKEN", "GITHUB_TOKEN"] });
  assert.deepEqual(allowed.problems, []);
  assert.deepEqual(allowed.tasks[0].spec.env, ["PATH", "SECRET_TOKEN", "ANTHROPIC_API_KEY", "GITHUB_TOKEN"]);
  // A name given with --set is the caller's own choice.
  const fs = memoryFs({ "/tasks/t.yaml": "slug: a\nprompt: x\nenv: [SECRET_TOKEN]\n" });
  const set = await loadTaskFile("/tasks/t.yaml", fs.read, fs.stat, { env: ["NPM_TOKEN"] });
  assert.deepEqual(set.problems, []);
  assert.deepEqual(set.tasks[0].spec.env, ["NPM_TOKEN"]);
  // A bad name is the schema's to report, once.
  assert.deepEqual(await problemsOf("slug: a\nprompt: x\nenv: [BAD-NAME]\n"), [
    '3:7: env[0]: invalid environment variable name "BAD-NAME"',
  ]);
});

Deno.test("env: IS_SANDBOX is refused even when the caller allows it", async () => {
  assert.deepEqual(
    await problemsOf("slug: a\nprompt: x\nenv: [IS_SANDBOX]\n", {}, { allowEnv: ["IS_SANDBOX"] }),
    ["3:7: env[0]: IS_SANDBOX cannot be passed: the OS sandbox sets it, and only there"],
  );
});

Deno.test("prompt_file outside the task file's folder is refused at its value, in every place; --allow-path lets a folder in", async () => {
  const text = "slug: a\nprompt_file: ../home/.ssh/id_rsa\nfollow_ups:\n  - prompt_file: /etc/passwd\n" +
    "review:\n  prompt_file: sub/../../x.md\n";
  const files = { "/home/.ssh/id_rsa": "KEY", "/etc/passwd": "root", "/x.md": "x" };
  const lines = await problemsOf(text, files);
  assert.deepEqual(lines, [
    '2:14: prompt_file: "../home/.ssh/id_rsa" leads outside the task file\'s folder (/home/.ssh/id_rsa); a task file reads only files in its folder unless the caller allows more with --allow-path DIR',
    '4:18: follow_ups[0].prompt_file: "/etc/passwd" leads outside the task file\'s folder (/etc/passwd); a task file reads only files in its folder unless the caller allows more with --allow-path DIR',
    '6:16: review.prompt_file: "sub/../../x.md" leads outside the task file\'s folder (/x.md); a task file reads only files in its folder unless the caller allows more with --allow-path DIR',
  ]);
  // A name that only starts like the folder is not inside it.
  assert.match(
    (await problemsOf("slug: a\nprompt_file: ../tasks2/p.md\n", { "/tasks2/p.md": "p" }))[0],
    /leads outside/,
  );
  const allowed = await load(text, files, { allowPaths: ["/home", "/etc", "/"] });
  assert.deepEqual(allowed.problems, []);
  assert.equal(allowed.tasks[0].spec.prompt, "KEY");
  // prompt_file given with --set is the caller's (relative to the caller's folder, already absolute).
  const fs = memoryFs({ "/tasks/t.yaml": "slug: a\nprompt: x\n", "/home/me/p.md": "mine" });
  const set = await loadTaskFile("/tasks/t.yaml", fs.read, fs.stat, { prompt_file: "/home/me/p.md" });
  assert.deepEqual(set.problems, []);
  assert.equal(set.tasks[0].spec.prompt, "mine");
});

Deno.test("prompt_file through a symlink: out of the folder refused (file or folder link), inside kept; the resolved file is read", async () => {
  await withTempDir(async (raw) => {
    const dir = await Deno.realPath(raw);
    await Deno.mkdir(join(dir, "tasks", "prompts"), { recursive: true });
    await Deno.mkdir(join(dir, "secret"));
    await Deno.writeTextFile(join(dir, "secret", "key"), "KEY");
    await Deno.writeTextFile(join(dir, "tasks", "prompts", "real.md"), "Inside.");
    await Deno.symlink(join(dir, "secret", "key"), join(dir, "tasks", "link.md"));
    await Deno.symlink(join(dir, "secret"), join(dir, "tasks", "dir"));
    await Deno.symlink("prompts/real.md", join(dir, "tasks", "ok.md"));
    await Deno.symlink(join(dir, "secret", "gone"), join(dir, "tasks", "dangling.md"));
    const file = join(dir, "tasks", "t.yaml");
    await Deno.writeTextFile(
      file,
      "slug: a\nprompt_file: link.md\nfollow_ups:\n  - prompt_file: dir/key\n  - prompt_file: ok.md\n" +
        "  - prompt_file: dangling.md\n",
    );
    const { problems } = await loadTaskFile(file);
    assert.deepEqual(problems.map((p) => [p.line, p.col]), [[2, 14], [4, 18], [6, 18]]);
    assert.match(
      problems[0].message,
      /^prompt_file: "link\.md" leads outside .* through a symlink, to .*secret\/key;/,
    );
    assert.match(problems[1].message, /^follow_ups\[0\]\.prompt_file: "dir\/key" .*through a symlink/);
    assert.match(
      problems[2].message,
      /^follow_ups\[2\]\.prompt_file: cannot read "dangling\.md" .*not found/,
    );

    // A task file reached through a symlinked folder reads from the real folder too.
    await Deno.writeTextFile(file, "slug: a\nprompt_file: ok.md\n");
    await Deno.symlink(join(dir, "tasks"), join(dir, "alias"));
    const via = await loadTaskFile(join(dir, "alias", "t.yaml"));
    assert.deepEqual(via.problems, []);
    assert.equal(via.tasks[0].spec.prompt, "Inside.");
    assert.equal(via.tasks[0].spec.prompt_file, join(dir, "tasks", "prompts", "real.md"), "the file read");
  });
});

Deno.test("a task file of many keys: every unknown key and a repeated key are reported at their lines", async () => {
  const keys = Array.from({ length: 3000 }, (_, i) => `k${i}: v`);
  const problems = await problemsOf(`slug: a\nprompt: x\n${keys.join("\n")}\n`);
  assert.equal(problems.length, 3000);
  assert.match(problems[0], /^3:1: unknown key "k0"/);
  assert.match(problems.at(-1)!, /^3002:1: unknown key "k2999"/);
  assert.deepEqual(
    await problemsOf(`slug: a\nprompt: x\n${keys.slice(0, 5).join("\n")}\nk2: again\n`).then((p) =>
      p.filter((l) => /unique/.test(l))
    ),
    ["8:1: Map keys must be unique"],
  );
});
