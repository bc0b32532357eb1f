/** Bad input: a one-line error, the usage exit code (2), and nothing changed on disk. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { slugProblem } from "../src/store/slug.ts";
import { parseOptions, toolList } from "../src/cli/options.ts";
import { baseEnv, collect, REPO, runCli, spawnCli } from "./support/cli.ts";
import { tempDir } from "./support/temp.ts";
import { seedResult, writeSeedProject } from "./support/seed_projects.ts";
import { parseSeconds } from "../src/config.ts";

Deno.test("slug rules reject what could escape the projects folder or confuse a shell", () => {
  for (
    const bad of [
      "",
      ".",
      "..",
      "a/b",
      "../x",
      "a..b",
      ".hidden",
      "-rf",
      "x".repeat(101),
      "sp ace",
      "é",
      "a\\b",
    ]
  ) {
    assert.ok(slugProblem(bad), `rejects ${JSON.stringify(bad)}`);
  }
  for (const good of ["task-api", "a", "A.b_c-1", "x".repeat(100)]) assert.equal(slugProblem(good), null);
});

Deno.test("tool lists split on commas outside parentheses and accept repeated flags", () => {
  const p = parseOptions("run", ["--allowed-tools", "Read,Bash(npm test:*)", "--allowed-tools", "Write"], {
    "allowed-tools": { type: "string", multiple: true, help: "" },
  });
  assert.deepEqual(toolList(p, "allowed-tools"), ["Read", "Bash(npm test:*)", "Write"]);
});

Deno.test("option parsing is strict: unknown options, values for flags, missing values, stray words", () => {
  const specs = {
    slug: { type: "string" as const, help: "" },
    json: { type: "boolean" as const, help: "" },
    follow: { type: "boolean" as const, short: "f", help: "" },
    env: { type: "string" as const, multiple: true, help: "" },
  };
  const p = parseOptions("x", ["--slug", "-dash-", "-f", "--env=A", "--env", "B", "--json"], specs);
  assert.deepEqual(p.values, { slug: "-dash-", follow: true, env: ["A", "B"], json: true });
  assert.deepEqual(parseOptions("x", ["word", "--", "--json"], specs, true).positionals, ["word", "--json"]);
  const fails = (argv: string[], pattern: RegExp, positionals = false) =>
    assert.throws(() => parseOptions("x", argv, specs, positionals), pattern);
  fails(["--slgu", "a"], /^UsageError: x: unknown option --slgu \(did you mean --slug\?\)/);
  fails(["--constructor"], /unknown option --constructor/);
  fails(["-z"], /unknown option -z/);
  fails(["-fz"], /unknown option -fz/);
  assert.deepEqual(
    parseOptions("x", ["-fq"], { ...specs, quiet: { type: "boolean", short: "q", help: "" } }).values,
    {
      follow: true,
      quiet: true,
    },
  );
  fails(["--json=yes"], /option --json takes no value/);
  fails(["--slug"], /option --slug needs a value/);
  fails(["stray"], /unexpected argument "stray"/);
  assert.equal(parseOptions("x", ["--slug="], specs).values.slug, "");
});

async function expectUsage(args: string[], pattern: RegExp, opts: { stdin?: string } = {}) {
  const t = await tempDir();
  try {
    const projects = join(t.path, "projects");
    const env = baseEnv({ projects, home: t.path }, { DISPATCH_CC_BIN: "/bin/true" });
    const r = await runCli([...args, "--json"], { env, stdin: opts.stdin, cwd: t.path });
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.json.error.kind, "usage");
    assert.match(r.json.error.message, pattern);
    assert.equal(r.stderr.trim().split("\n").length, 1, "one line on stderr");
    assert.equal(await Deno.stat(projects).then(() => true, () => false), false, "nothing was created");
  } finally {
    await t.cleanup();
  }
}

Deno.test("invalid slugs are refused before anything is written", async () => {
  for (const slug of [".", "..", "a/b", ".x", "-x", "x".repeat(101), "a b", ""]) {
    await expectUsage(["run", "--slug", slug, "--prompt", "p"], /invalid slug/);
  }
});

Deno.test("missing or empty prompts and unreadable prompt files are usage errors", async () => {
  await expectUsage(["run", "--slug", "a"], /missing prompt/);
  await expectUsage(["run", "--slug", "a", "--prompt", "  "], /--prompt is empty/);
  await expectUsage(
    ["run", "--slug", "a", "--prompt-file", "no-such.md"],
    /cannot read --prompt-file no-such\.md: no such file/,
  );
  await expectUsage(
    ["run", "--slug", "a", "--prompt", "x", "--prompt-file", "y"],
    /either --prompt or --prompt-file/,
  );
  await expectUsage(["run", "--slug", "a", "--prompt-file", "-"], /--prompt-file - is empty/, { stdin: "" });
});

Deno.test("numbers must be positive: timeout, max turns, budget", async () => {
  await expectUsage(
    ["run", "--slug", "a", "--prompt", "p", "--timeout", "abc"],
    /--timeout must be a positive number/,
  );
  await expectUsage(
    ["run", "--slug", "a", "--prompt", "p", "--timeout", "-5"],
    /--timeout must be a positive number/,
  );
  await expectUsage(
    ["run", "--slug", "a", "--prompt", "p", "--max-turns", "2.5"],
    /--max-turns must be a positive whole number/,
  );
  await expectUsage(
    ["run", "--slug", "a", "--prompt", "p", "--max-budget-usd", "0"],
    /--max-budget-usd must be a positive/,
  );
  // A timer cannot wait longer than about 24.8 days: a larger timeout would fire at once, so it is refused.
  await expectUsage(
    ["run", "--slug", "a", "--prompt", "p", "--timeout", "99999999999"],
    /--timeout must be at most 2147483 seconds/,
  );
  await expectUsage(
    ["run", "--slug", "a", "--prompt", "p", "--max-turns", "1e21"],
    /--max-turns must be a positive whole number/,
  );
});

Deno.test("unknown commands, options and permission modes get a did-you-mean", async () => {
  await expectUsage(["rnu"], /unknown command "rnu" \(did you mean run\?\)/);
  await expectUsage(
    ["run", "--slug", "a", "--promt", "x"],
    /unknown option --promt \(did you mean --prompt\?\)/,
  );
  await expectUsage(
    ["run", "--slug", "a", "--prompt", "x", "--permission", "yolo"],
    /unknown permission mode "yolo"/,
  );
  await expectUsage(["search"], /search takes one keyword/);
  await expectUsage(["status"], /missing --slug/);
});

Deno.test("a bad setting stops only the commands that use it: cancel, wait, status, logs, list still work", async () => {
  const t = await tempDir();
  try {
    const projects = join(t.path, "p");
    await writeSeedProject(projects, "s", {
      description: "seeded",
      lastResult: "r",
      runs: [{ stamp: "20260331-143022", pid: 4242, result: seedResult() }],
    });
    for (
      const [name, value, message] of [
        ["DISPATCH_TIMEOUT", "abc", /DISPATCH_TIMEOUT must be a positive number/],
        ["DISPATCH_PERMISSION", "yolo", /unknown permission mode "yolo"/],
        ["DISPATCH_SANDBOX", "maybe", /DISPATCH_SANDBOX/],
      ] as const
    ) {
      const env = baseEnv({ projects, home: t.path }, { [name]: value });
      for (
        const args of [
          ["list"],
          ["status", "--slug", "s"],
          ["wait", "--slug", "s"],
          ["logs", "--slug", "s"],
          [
            "cancel",
            "--slug",
            "s",
          ],
          ["history", "--slug", "s"],
        ]
      ) {
        const r = await runCli(args, { env });
        assert.notEqual(r.code, 2, `${name}=${value} ${args.join(" ")}: ${r.stderr}`);
      }
      const run = await runCli(["run", "--slug", "s", "--prompt", "x", "--json"], { env });
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.json.error.message, message);
    }
  } finally {
    await t.cleanup();
  }
});

Deno.test("numbers are plain decimals: hex, exponents and spaces are refused; durations as in task files", async () => {
  for (const bad of ["0x10", " 5", "5 ", "1e3", "+5", ""]) {
    await expectUsage(
      ["run", "--slug", "a", "--prompt", "p", "--max-turns", bad],
      /--max-turns must be a positive/,
    );
    await expectUsage(
      ["run", "--slug", "a", "--prompt", "p", "--timeout", bad],
      /--timeout must be a positive/,
    );
    await expectUsage(["run", "--slug", "a", "--prompt", "p", "--max-budget-usd", bad], /must be a positive/);
  }
  assert.equal(parseSeconds("10m", "--timeout"), 600);
  assert.equal(parseSeconds("1h", "--timeout"), 3600);
  assert.equal(parseSeconds("90s", "--timeout"), 90);
  assert.equal(parseSeconds("1.5", "--timeout"), 1.5);
  assert.throws(() => parseSeconds("0x10", "--timeout"), /positive number/);
});

Deno.test("run --timeout 10m is accepted as task files take it (the record says 600 s)", async () => {
  const t = await tempDir();
  try {
    const projects = join(t.path, "p");
    const env = baseEnv({ projects, home: t.path }, { DISPATCH_CC_BIN: "/bin/true" });
    const r = await runCli(["run", "--slug", "a", "--prompt", "p", "--timeout", "10m", "--json"], { env });
    assert.notEqual(r.code, 2, r.stderr);
    const logs = join(projects, "a", ".dispatch-logs");
    const record = [...Deno.readDirSync(logs)].find((f) => f.name.endsWith("-run.json"))!;
    assert.equal(JSON.parse(Deno.readTextFileSync(join(logs, record.name))).timeout_s, 600);
  } finally {
    await t.cleanup();
  }
});

Deno.test("a missing Claude Code exits 127 with the install command and writes nothing", async () => {
  const t = await tempDir();
  try {
    const projects = join(t.path, "projects");
    const env = baseEnv({ projects, home: t.path }, { PATH: "/nonexistent" });
    const r = await runCli(["run", "--slug", "a", "--prompt", "p", "--json"], { env });
    assert.equal(r.code, 127, r.stderr);
    assert.match(r.json.error.message, /npm install -g @anthropic-ai\/claude-code/);
    assert.equal(await Deno.stat(projects).then(() => true, () => false), false);
    const bad = await runCli(["run", "--slug", "a", "--prompt", "p", "--json"], {
      env: { ...env, DISPATCH_CC_BIN: join(t.path, "missing-claude") },
    });
    assert.equal(bad.code, 127);
    assert.match(bad.json.error.message, /DISPATCH_CC_BIN=.*missing-claude is not an executable file/);
  } finally {
    await t.cleanup();
  }
});

Deno.test("--prompt-file resolves against the user's folder under deno task, which runs in deno.json's folder", async () => {
  const t = await tempDir();
  try {
    await Deno.writeTextFile(join(t.path, "spec.md"), "[[fake:ok]] build it");
    const fake = new URL("./support/fake_claude.sh", import.meta.url).pathname;
    const env = baseEnv({ projects: join(t.path, "projects"), home: t.path }, { DISPATCH_CC_BIN: fake });
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "task",
        "-q",
        "--config",
        join(REPO, "deno.json"),
        "dispatch-cc",
        "run",
        "--slug",
        "rel",
        "--prompt-file",
        "spec.md",
        "--json",
      ],
      cwd: t.path,
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const doc = JSON.parse(new TextDecoder().decode(out.stdout));
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.equal(doc.status, "success");
  } finally {
    await t.cleanup();
  }
});

Deno.test("--help works for every command and the main help lists them", async () => {
  const t = await tempDir();
  try {
    const env = baseEnv({ projects: t.path, home: t.path });
    const main = await runCli(["--help"], { env });
    assert.equal(main.code, 0);
    for (const c of ["run", "resume", "review", "status", "list", "search"]) {
      assert.match(main.stdout, new RegExp(`\\n  ${c} `));
      const h = await runCli([c, "--help"], { env });
      assert.equal(h.code, 0);
      assert.match(h.stdout, new RegExp(`^Usage: dispatch-cc ${c}`));
      assert.match(h.stdout, /--json/);
    }
  } finally {
    await t.cleanup();
  }
});

Deno.test("a task file timeout longer than a timer can wait is a validation error, not an instant timeout", async () => {
  const t = await tempDir();
  try {
    const file = join(t.path, "t.yaml");
    await Deno.writeTextFile(file, "slug: a\nprompt: x\ntimeout: 100000h\n");
    const r = await runCli(["validate", file, "--json"], {
      env: baseEnv({ projects: join(t.path, "p"), home: t.path }),
    });
    assert.equal(r.code, 2);
    assert.match(r.json.problems[0].message, /too long: at most 2147483 seconds/);
    assert.equal(r.json.problems[0].line, 3);
  } finally {
    await t.cleanup();
  }
});

Deno.test("SIGTERM while reading the prompt from standard input ends the command (130) and writes nothing", async () => {
  const t = await tempDir();
  try {
    const projects = join(t.path, "projects");
    const env = baseEnv({ projects, home: t.path }, { DISPATCH_CC_BIN: "/bin/true" });
    const child = spawnCli(["run", "--slug", "a", "--prompt-file", "-", "--json"], { env, stdin: true });
    await new Promise((r) => setTimeout(r, 1500));
    child.kill("SIGTERM");
    const r = await collect(child);
    assert.equal(r.code, 130, r.stderr);
    assert.equal(r.json.error.kind, "interrupted");
    assert.equal(await Deno.stat(projects).then(() => true, () => false), false);
  } finally {
    await t.cleanup();
  }
});

Deno.test("a projects folder that is a file is a usage error for every command, not a crash", async () => {
  const t = await tempDir();
  try {
    const file = join(t.path, "not-a-dir");
    await Deno.writeTextFile(file, "x");
    const env = baseEnv({ projects: file, home: t.path }, { DISPATCH_CC_BIN: "/bin/true" });
    for (const args of [["list"], ["search", "x"], ["run", "--slug", "a", "--prompt", "p"]]) {
      const r = await runCli([...args, "--json"], { env });
      assert.equal(r.code, 2, `${args[0]}: ${r.stderr}`);
      assert.match(r.json.error.message, /DISPATCH_PROJECTS_DIR=.*not-a-dir is not a directory/);
    }
  } finally {
    await t.cleanup();
  }
});

Deno.test("review --help gives review's own default permission (plan)", async () => {
  const t = await tempDir();
  try {
    const r = await runCli(["review", "--help"], {
      env: baseEnv({ projects: join(t.path, "p"), home: t.path }),
    });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--permission MODE .*review: plan/);
    assert.doesNotMatch(r.stdout, /acceptEdits \(default\)/);
  } finally {
    await t.cleanup();
  }
});
