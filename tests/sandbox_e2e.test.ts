/**
 * The sandbox end to end: the real Claude Code CLI against the scripted endpoint, through dispatch-cc as
 * shipped. Layer 2 (the child's environment), layer 3 (permission ceiling, OS sandbox), and what
 * --dry-run and status show of them. The bubblewrap tests are skipped only where bwrap is missing (CI
 * installs it).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { findBwrap } from "../src/sandbox/bwrap.ts";
import { which } from "../src/which.ts";
import { runCli } from "./support/cli.ts";
import { processesMatching, startE2E } from "./support/e2e.ts";

const exists = (p: string) => Deno.lstat(p).then(() => true, () => false);
const isRoot = Deno.uid() === 0;
const noBwrap = (await findBwrap()) === null;

/** The text of the tool_result of each tool call in a run's transcript, by tool_use id order. */
async function toolResults(transcript: string): Promise<string[]> {
  const out: string[] = [];
  for (const line of (await Deno.readTextFile(transcript)).split("\n")) {
    if (!line.trim()) continue;
    const ev = JSON.parse(line);
    if (ev.type !== "user" || !Array.isArray(ev.message?.content)) continue;
    for (const c of ev.message.content) {
      if (c.type !== "tool_result") continue;
      out.push(typeof c.content === "string" ? c.content : JSON.stringify(c.content));
    }
  }
  return out;
}

/** A folder on the real file system outside /tmp (the sandbox's /tmp is private), or null. */
async function outsideDir(): Promise<string | null> {
  try {
    return await Deno.makeTempDir({ dir: "/var/tmp", prefix: "dispatch-outside-" });
  } catch {
    return null;
  }
}

Deno.test("the child's environment: a secret of dispatch-cc's is absent from a Bash `env` in Claude Code, and --env passes it", async () => {
  const e = await startE2E({ SECRET_TOKEN: "s3cr3t-value", GITHUB_TOKEN: "ghp-value" });
  try {
    e.api.scenario("env", [
      { toolUse: { name: "Bash", input: { command: "env", description: "show env" } } },
      { text: "Shown." },
    ]);
    const plain = await runCli(
      ["run", "--slug", "envs", "--prompt", "env [[mock:env]]", "--allowed-tools", "Bash", "--json"],
      { env: e.env },
    );
    assert.equal(plain.code, 0, plain.stderr);
    const [shown] = await toolResults(plain.json.transcript_file);
    assert.match(shown, /ANTHROPIC_BASE_URL=/, "the Bash call printed the environment");
    assert.doesNotMatch(shown, /SECRET_TOKEN|s3cr3t-value|GITHUB_TOKEN|DISPATCH_PROJECTS_DIR/);
    assert.ok(!plain.json.env_names.includes("SECRET_TOKEN"));
    assert.ok(plain.json.env_names.includes("PATH"));

    const passed = await runCli(
      [
        "resume",
        "--slug",
        "envs",
        "--prompt",
        "env again [[mock:env]]",
        "--allowed-tools",
        "Bash",
        "--env",
        "SECRET_TOKEN",
        "--json",
      ],
      { env: e.env },
    );
    assert.equal(passed.code, 0, passed.stderr);
    const [again] = await toolResults(passed.json.transcript_file);
    assert.match(again, /SECRET_TOKEN=s3cr3t-value/);
    assert.doesNotMatch(again, /GITHUB_TOKEN/, "only the name asked for");
    assert.ok(passed.json.env_names.includes("SECRET_TOKEN"));
  } finally {
    await e.cleanup();
  }
});

Deno.test("the permission ceiling refuses bypassPermissions from a flag (exit 2, nothing written); as root outside the sandbox too", async () => {
  const e = await startE2E();
  try {
    const r = await runCli(
      ["run", "--slug", "ceil", "--prompt", "x", "--permission", "bypassPermissions", "--json"],
      { env: e.env },
    );
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.json.error.kind, "usage");
    assert.match(r.json.error.message, /above the ceiling acceptEdits.*--allow-dangerous/);
    assert.equal(await exists(e.projects), false, "nothing written");

    // A higher ceiling set by the environment lets it through to the next check.
    const raised = await runCli(
      ["run", "--slug", "ceil", "--prompt", "x", "--permission", "auto", "--dry-run", "--json"],
      { env: { ...e.env, DISPATCH_MAX_PERMISSION: "auto" } },
    );
    assert.equal(raised.code, 0, raised.stderr);
    assert.equal(raised.json.layers.permission.ceiling, "auto");

    if (isRoot) {
      const root = await runCli(
        ["run", "--slug", "ceil", "--prompt", "x", "--permission", "bypassPermissions", "--allow-dangerous"],
        { env: e.env },
      );
      assert.equal(root.code, 2, root.stderr);
      assert.match(root.stderr, /as root needs the OS sandbox.*--sandbox/);
      assert.equal(await exists(e.projects), false, "nothing written");
    }
    assert.equal(e.api.requests.length, 0, "Claude Code never started");
  } finally {
    await e.cleanup();
  }
});

Deno.test("--dry-run shows the three layers and writes nothing; sandbox choices are checked", async () => {
  const e = await startE2E({ SECRET_TOKEN: "x" });
  try {
    const r = await runCli(
      [
        "run",
        "--slug",
        "dry",
        "--prompt",
        "x",
        "--dry-run",
        "--no-network",
        "--env",
        "SECRET_TOKEN",
        "--json",
      ],
      { env: e.env },
    );
    if (noBwrap) {
      assert.equal(r.code, 127, r.stderr);
      return;
    }
    assert.equal(r.code, 0, r.stderr);
    const d = r.json;
    assert.equal(d.dry_run, true);
    assert.equal(d.layers.deno.net, "refused");
    assert.ok(d.layers.environment.names.includes("SECRET_TOKEN"));
    assert.ok(d.layers.environment.names.includes("IS_SANDBOX"));
    assert.ok(!d.layers.environment.names.includes("DISPATCH_PROJECTS_DIR"));
    assert.deepEqual(d.layers.permission.mode, "acceptEdits");
    assert.equal(d.layers.sandbox.kind, "bwrap");
    assert.equal(d.layers.sandbox.network, false);
    assert.match(d.launch.program, /bwrap$/);
    assert.ok(d.launch.args.includes("--unshare-net"));
    assert.equal(await exists(e.projects), false, "nothing written");

    const text = await runCli(["review", "--slug", "dry", "--dry-run"], { env: e.env });
    assert.equal(text.code, 3, "review needs an existing project");
    const both = await runCli(["run", "--slug", "dry", "--prompt", "x", "--sandbox", "--claude-sandbox"], {
      env: e.env,
    });
    assert.equal(both.code, 2);
    assert.match(both.stderr, /do not nest/);
    const missing = await runCli(["run", "--slug", "dry", "--prompt", "x", "--sandbox"], {
      env: { ...e.env, PATH: "/nonexistent" },
    });
    assert.equal(missing.code, 127);
    assert.match(missing.stderr, /apt-get install bubblewrap/);
    assert.equal(e.api.requests.length, 0);
  } finally {
    await e.cleanup();
  }
});

Deno.test({
  name:
    "under the OS sandbox with bypassPermissions: writes outside the project are refused and reported, inside they work; records and ~/.claude cannot be forged; nothing is left running",
  ignore: noBwrap,
  async fn() {
    const e = await startE2E();
    const outside = await outsideDir();
    try {
      const out = outside ?? join(e.home, "outside");
      const tag = `sleep ${9000 + Math.floor(Math.random() * 900)}`;
      const bash = (command: string) => ({ toolUse: { name: "Bash", input: { command, description: "x" } } });
      e.api.scenario("box", [
        { toolUse: { name: "Write", input: { file_path: join(out, "w.txt"), content: "escaped\n" } } },
        bash(`echo escaped > ${join(out, "b.txt")}`),
        { toolUse: { name: "Write", input: { file_path: "inside.txt", content: "inside\n" } } },
        bash("echo made > made.txt"),
        bash("echo 00000000-0000-4000-8000-000000000000 > .dispatch-logs/last-session-id"),
        bash(`echo '{"hooks":{}}' > "$HOME/.claude/settings.json"`),
        bash(`(setsid ${tag} > /dev/null 2>&1 &)`),
        { text: "Done." },
      ]);
      const r = await runCli(
        [
          "run",
          "--slug",
          "box",
          "--prompt",
          "Try [[mock:box]]",
          "--sandbox",
          "--permission",
          "bypassPermissions",
          "--allow-dangerous",
          "--json",
        ],
        { env: e.env },
      );
      const dir = join(e.projects, "box");
      assert.equal(r.json?.num_turns, 8, r.stderr + JSON.stringify(r.json));
      assert.equal(r.json.permission, "bypassPermissions", "the CLI ran in bypassPermissions as root");
      assert.deepEqual(r.json.sandbox, { kind: "bwrap", network: true });
      // Inside the project: written.
      assert.equal(await Deno.readTextFile(join(dir, "inside.txt")), "inside\n");
      assert.equal(await Deno.readTextFile(join(dir, "made.txt")), "made\n");
      // Outside: refused by the read-only file system, and reported as denials per tool.
      assert.equal(await exists(join(out, "w.txt")), false);
      assert.equal(await exists(join(out, "b.txt")), false);
      assert.equal(r.code, 4, r.stderr);
      assert.equal(r.json.status, "blocked");
      const denied = r.json.permission_denials.filter((d: { source?: string }) => d.source === "sandbox");
      const by = (path: string) => denied.find((d: { path?: string }) => d.path === path);
      // Outside the project: kept in the run's own root, never on the host, and reported with the tool.
      assert.equal(by(join(out, "w.txt"))?.tool, "Write", JSON.stringify(denied));
      assert.equal(by(join(out, "w.txt"))?.input.file_path, join(out, "w.txt"));
      assert.equal(by(join(out, "b.txt"))?.tool, "Bash", JSON.stringify(denied));
      // Into the records: refused (by Claude Code's deny rules, or else by the read-only bind).
      assert.match(JSON.stringify(r.json.permission_denials), /last-session-id/);
      // (~/.claude/settings.json: this test's HOME lies under /tmp, so inside it is in the private /tmp and
      // vanishes with the run; with a HOME elsewhere the write is reported: sandbox_confine_e2e.test.ts.)
      assert.equal(denied.length, 2, JSON.stringify(denied));
      // The records and Claude Code's settings are as dispatch-cc left them.
      const logs = join(dir, ".dispatch-logs");
      assert.equal((await Deno.readTextFile(join(logs, "last-session-id"))).trim(), r.json.session_id);
      assert.equal(await exists(join(e.home, ".claude", "settings.json")), false);
      // The detached process ended with the run's PID namespace.
      assert.deepEqual(await processesMatching(tag), []);
      // status shows the run as blocked, with the layers it ran under.
      const status = await runCli(["status", "--slug", "box"], { env: e.env });
      assert.match(status.stdout, /BLOCKED \(3 denied\)/);
      assert.match(status.stdout, /Sandbox: bwrap/);
      assert.match(status.stdout, /Denied: Write .*w\.txt/);
    } finally {
      if (outside) await Deno.remove(outside, { recursive: true }).catch(() => {});
      await e.cleanup();
    }
  },
});

Deno.test({
  name: "review under the sandbox cannot modify the project: Write and a Bash write are refused",
  ignore: noBwrap,
  async fn() {
    const e = await startE2E();
    try {
      e.api.scenario("w", [{ text: "ok" }]);
      e.api.scenario("rv", [
        { toolUse: { name: "Write", input: { file_path: "REVIEW.md", content: "x" } } },
        { toolUse: { name: "Bash", input: { command: "echo changed >> CLAUDE.md", description: "x" } } },
        { text: "Reviewed." },
      ]);
      assert.equal(
        (await runCli(["run", "--slug", "rv", "--prompt", "w [[mock:w]]"], { env: e.env })).code,
        0,
      );
      const before = await Deno.readTextFile(join(e.projects, "rv", "CLAUDE.md"));
      const r = await runCli([
        "review",
        "--slug",
        "rv",
        "--prompt",
        "Review [[mock:rv]]",
        "--sandbox",
        "--json",
      ], {
        env: e.env,
      });
      assert.equal(r.code, 4, r.stderr);
      assert.equal(r.json.permission, "plan");
      assert.equal(r.json.permission_denials.length, 2);
      assert.equal(await exists(join(e.projects, "rv", "REVIEW.md")), false);
      assert.equal(await Deno.readTextFile(join(e.projects, "rv", "CLAUDE.md")), before);
    } finally {
      await e.cleanup();
    }
  },
});

const noSocat = (await which("socat", Deno.env.get("PATH"))) === null;

Deno.test({
  name:
    "--claude-sandbox: Claude Code's own Bash sandbox refuses a write outside the project and allows one inside",
  ignore: noBwrap || noSocat,
  async fn() {
    const e = await startE2E();
    const outside = await outsideDir();
    assert.ok(outside, "a folder outside /tmp");
    try {
      e.api.scenario("cs", [
        { toolUse: { name: "Bash", input: { command: "echo in > inside.txt", description: "inside" } } },
        {
          toolUse: {
            name: "Bash",
            input: { command: `echo out > ${outside}/x.txt`, description: "outside" },
          },
        },
        { text: "Tried both." },
      ]);
      const r = await runCli(
        ["run", "--slug", "cs", "--prompt", "go [[mock:cs]]", "--claude-sandbox", "--json"],
        { env: e.env },
      );
      assert.equal(r.json.sandbox.kind, "claude");
      assert.equal(await exists(join(e.projects, "cs", "inside.txt")), true);
      assert.equal(await exists(join(outside, "x.txt")), false);
      // The refused write is reported, not hidden in a "success".
      assert.equal(r.code, 4, r.stderr);
      assert.equal(r.json.status, "blocked");
      assert.ok(r.json.permission_denials.some((d: { source?: string }) => d.source === "sandbox"));
    } finally {
      await Deno.remove(outside!, { recursive: true }).catch(() => {});
      await e.cleanup();
    }
  },
});
