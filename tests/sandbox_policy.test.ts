import { codexAgent } from "../src/agents/codex/agent.ts";
/**
 * Layer 3 without processes: the permission ceiling, bypassPermissions as root, the sandbox choice,
 * sandbox refusals, and the launch plan that puts them together.
 */
import assert from "node:assert/strict";
import { UsageError } from "../src/errors.ts";
import { NotInstalledError } from "../src/errors.ts";
import { NO_SANDBOX, parseSandboxSetting, resolveSandbox } from "../src/sandbox/choice.ts";
import { type LaunchInput, planLaunch } from "../src/sandbox/launch.ts";
import { CLAUDE_SANDBOX_SETTINGS } from "../src/agents/claude_code/args.ts";
import { claudeCode } from "../src/agents/claude_code/mod.ts";
import { checkCeiling, checkRootBypass } from "../src/sandbox/permission.ts";
import { sandboxRefusals } from "../src/sandbox/refusals.ts";

Deno.test("checkCeiling allows up to the ceiling, refuses above it with the source and the fix, unless --allow-dangerous", () => {
  checkCeiling({
    requested: "acceptEdits",
    ceiling: "acceptEdits",
    allowDangerous: false,
    source: "--permission",
  });
  checkCeiling({ requested: "plan", ceiling: "default", allowDangerous: false, source: "--permission" });
  assert.throws(
    () =>
      checkCeiling({
        requested: "bypassPermissions",
        ceiling: "acceptEdits",
        allowDangerous: false,
        source: "task.yaml:3:13 permission",
      }),
    (e) =>
      e instanceof UsageError &&
      /task\.yaml:3:13 permission.*bypassPermissions.*--allow-dangerous/.test(e.message),
  );
  assert.throws(() =>
    checkCeiling({ requested: "auto", ceiling: "acceptEdits", allowDangerous: false, source: "x" })
  );
  checkCeiling({ requested: "bypassPermissions", ceiling: "acceptEdits", allowDangerous: true, source: "x" });
});

Deno.test("checkRootBypass refuses bypassPermissions as root outside bubblewrap, with --sandbox as the fix", () => {
  assert.throws(() => checkRootBypass("bypassPermissions", "none", 0), /--sandbox/);
  assert.throws(() => checkRootBypass("bypassPermissions", "claude", 0), /does not cover Write/);
  checkRootBypass("bypassPermissions", "bwrap", 0);
  checkRootBypass("bypassPermissions", "none", 1000);
  checkRootBypass("acceptEdits", "none", 0);
});

Deno.test("resolveSandbox: flags win over the task file, which wins over DISPATCH_SANDBOX; both sandboxes together are refused", () => {
  const env = parseSandboxSetting("1", "DISPATCH_SANDBOX");
  assert.deepEqual(env, { kind: "bwrap", network: true });
  assert.deepEqual(resolveSandbox({}, undefined, env), env);
  assert.deepEqual(resolveSandbox({}, { enabled: false, network: true }, env), NO_SANDBOX);
  assert.deepEqual(resolveSandbox({}, { enabled: true, network: false }, NO_SANDBOX), {
    kind: "bwrap",
    network: false,
  });
  assert.deepEqual(resolveSandbox({ noSandbox: true }, { enabled: true, network: true }, env), NO_SANDBOX);
  assert.deepEqual(resolveSandbox({ noNetwork: true }, undefined, NO_SANDBOX), {
    kind: "bwrap",
    network: false,
  });
  assert.deepEqual(resolveSandbox({ claudeSandbox: true }, undefined, env), {
    kind: "claude",
    network: false,
  });
  assert.throws(
    () => resolveSandbox({ sandbox: true, claudeSandbox: true }, undefined, NO_SANDBOX),
    /do not nest/,
  );
  assert.deepEqual(parseSandboxSetting("", "DISPATCH_SANDBOX"), NO_SANDBOX);
  assert.deepEqual(parseSandboxSetting("nonet", "DISPATCH_SANDBOX"), { kind: "bwrap", network: false });
  assert.throws(
    () => parseSandboxSetting("maybe", "DISPATCH_SANDBOX"),
    /DISPATCH_SANDBOX: unknown sandbox setting/,
  );
});

Deno.test("sandboxRefusals turns read-only file system errors into denials with the tool and input, only under a sandbox", () => {
  const uses = new Map([
    ["t1", { name: "Write", input: { file_path: "/etc/x" } }],
    ["t2", { name: "Bash", input: { command: "echo > /usr/x" } }],
    ["t3", { name: "Bash", input: { command: "false" } }],
  ]);
  const errors = [
    { tool_use_id: "t1", text: "EROFS: read-only file system, open '/etc/x'" },
    { tool_use_id: "t2", text: "Exit code 1\n/bin/sh: 1: cannot create /usr/x: Read-only file system" },
    { tool_use_id: "t3", text: "Exit code 1" },
  ];
  const denied = sandboxRefusals("bwrap", errors, uses);
  assert.deepEqual(denied.map((d) => [d.tool, d.source, d.tool_use_id]), [["Write", "sandbox", "t1"], [
    "Bash",
    "sandbox",
    "t2",
  ]]);
  assert.match(denied[1].reason, /^\/bin\/sh: 1: cannot create \/usr\/x: Read-only file system$/);
  assert.deepEqual(denied[0].input, { file_path: "/etc/x" });
  assert.deepEqual(sandboxRefusals("none", errors, uses), []);
});

function input(over: Partial<LaunchInput> = {}): LaunchInput {
  return {
    agent: claudeCode,
    claudeBin: "/opt/claude/claude",
    claudeArgs: ["-p", "--permission-mode", "acceptEdits"],
    projectDir: "/srv/p/x",
    logsDir: "/srv/p/x/.dispatch-logs",
    parentEnv: { PATH: "/usr/bin:/bin", HOME: "/home/u", SECRET_TOKEN: "s", ANTHROPIC_API_KEY: "k" },
    set: { DISPATCH_CC_RUN: "m" },
    permission: "acceptEdits",
    ceiling: "acceptEdits",
    uid: 1000,
    os: "linux",
    ...over,
  };
}

Deno.test("planLaunch without a sandbox: Claude Code itself, allow-listed environment names, the layers", async () => {
  const plan = await planLaunch(input());
  assert.equal(plan.command, "/opt/claude/claude");
  assert.equal(plan.cwd, "/srv/p/x");
  assert.deepEqual(plan.envNames, ["ANTHROPIC_API_KEY", "DISPATCH_CC_RUN", "HOME", "PATH"]);
  assert.equal(plan.env.SECRET_TOKEN, undefined);
  assert.deepEqual([plan.permission, plan.ceiling, plan.sandbox.kind, plan.prepare], [
    "acceptEdits",
    "acceptEdits",
    "none",
    null,
  ]);
  const withEnv = await planLaunch(input({ envNames: ["SECRET_TOKEN"] }));
  assert.equal(withEnv.env.SECRET_TOKEN, "s");
  assert.deepEqual(withEnv.extraEnvNames, ["SECRET_TOKEN"]);
});

Deno.test("planLaunch refuses: above the ceiling, IS_SANDBOX by --env, bypass as root, the sandbox off Linux or without bwrap", async () => {
  await assert.rejects(planLaunch(input({ permission: "bypassPermissions" })), UsageError);
  await assert.rejects(planLaunch(input({ envNames: ["IS_SANDBOX"] })), /IS_SANDBOX/);
  await assert.rejects(
    planLaunch(input({ permission: "bypassPermissions", allowDangerous: true, uid: 0 })),
    /as root needs the OS sandbox/,
  );
  await assert.rejects(
    planLaunch(input({ sandbox: { kind: "bwrap", network: true }, os: "darwin" })),
    (e) => e instanceof NotInstalledError && /not supported on macOS/.test(e.message),
  );
  await assert.rejects(
    planLaunch(
      input({ sandbox: { kind: "bwrap", network: true }, parentEnv: { PATH: "/nonexistent", HOME: "/h" } }),
    ),
    (e) => e instanceof NotInstalledError && /apt-get install bubblewrap/.test(e.message),
  );
});

Deno.test({
  name:
    "planLaunch with bwrap: bwrap in front of Claude Code, IS_SANDBOX in the names; with claude: --settings",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sbx-plan-" });
    try {
      await Deno.writeTextFile(`${dir}/bwrap`, "#!/bin/sh\n");
      await Deno.chmod(`${dir}/bwrap`, 0o755);
      await Deno.writeTextFile(`${dir}/socat`, "#!/bin/sh\n");
      await Deno.chmod(`${dir}/socat`, 0o755);
      await Deno.mkdir(`${dir}/only-bwrap`);
      await Deno.copyFile(`${dir}/bwrap`, `${dir}/only-bwrap/bwrap`);
      const parentEnv = { PATH: dir, HOME: "/home/u" };
      const plan = await planLaunch(
        input({
          parentEnv,
          sandbox: { kind: "bwrap", network: true },
          permission: "bypassPermissions",
          allowDangerous: true,
          uid: 0,
        }),
      );
      assert.equal(plan.command, `${dir}/bwrap`);
      const sep = plan.args.indexOf("--");
      assert.deepEqual(plan.args.slice(sep + 1), [
        "/opt/claude/claude",
        "-p",
        "--permission-mode",
        "acceptEdits",
      ]);
      assert.ok(!plan.args.includes("--unshare-net"));
      assert.ok(plan.envNames.includes("IS_SANDBOX"));
      assert.deepEqual(plan.prepare?.state.writable, ["/home/u/.claude/projects/-srv-p-x"]);
      // Without network the CLI starts behind the inside forwarder, with the API's address rewritten.
      const nonet = await planLaunch(
        input({
          parentEnv: { ...parentEnv, ANTHROPIC_BASE_URL: "http://127.0.0.1:4000" },
          sandbox: { kind: "bwrap", network: false },
        }),
      );
      const at = nonet.args.indexOf("--");
      assert.deepEqual(nonet.args.slice(at + 1, at + 3), ["/bin/sh", "-c"]);
      assert.deepEqual(nonet.args.slice(at + 4, at + 6), ["sh", "/opt/claude/claude"]);
      assert.equal(nonet.env.ANTHROPIC_BASE_URL, "http://127.0.0.1:18080");
      assert.equal(nonet.forward?.plan.port, 4000);
      await assert.rejects(
        planLaunch(input({ agent: codexAgent, parentEnv, sandbox: { kind: "bwrap", network: false } })),
        (e) =>
          e instanceof UsageError && /--no-network keeps only Claude Code's API reachable/.test(e.message),
      );
      await assert.rejects(
        planLaunch(
          input({
            parentEnv: { ...parentEnv, HTTPS_PROXY: "http://proxy:3128" },
            sandbox: { kind: "bwrap", network: false },
          }),
        ),
        (e) =>
          e instanceof UsageError &&
          /--no-network cannot keep the model API reachable: HTTPS_PROXY/.test(e.message),
      );
      // Claude Code's own sandbox is asked for in its arguments (the agent builds them), run as they are.
      const own = claudeCode.command({
        session: { mode: "new", id: "11111111-2222-3333-4444-555555555555" },
        permission: "acceptEdits",
        projectDir: "/srv/p/x",
        protectedPaths: [],
        ownSandbox: true,
      }, "prompt").args;
      assert.deepEqual(own.slice(-2), ["--settings", JSON.stringify(CLAUDE_SANDBOX_SETTINGS)]);
      const claude = await planLaunch(
        input({ parentEnv, claudeArgs: own, sandbox: { kind: "claude", network: false } }),
      );
      assert.equal(claude.command, "/opt/claude/claude");
      assert.deepEqual(claude.args, own);
      await assert.rejects(
        planLaunch(
          input({
            parentEnv: { PATH: `${dir}/only-bwrap`, HOME: "/h" },
            sandbox: { kind: "claude", network: false },
          }),
        ),
        (e) => e instanceof NotInstalledError && /socat/.test(e.message),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
