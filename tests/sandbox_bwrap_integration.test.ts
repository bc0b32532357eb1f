/**
 * The OS sandbox for real: `bwrap <bwrapArgs(plan)> -- /bin/sh -c ...` on a temporary project and HOME.
 * Skipped only when bwrap is not installed (CI installs it). Fixtures live in /var/tmp when possible, so
 * that a write "outside" hits the real, read-only file system and not the sandbox's private /tmp.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  bwrapArgs,
  findBwrap,
  prepareSandbox,
  type SandboxPlan,
  writesOutside,
} from "../src/sandbox/bwrap.ts";
import { claudeCodeState } from "../src/agents/claude_code/sandbox_state.ts";
import { ensureClaudeCli } from "./support/claude_cli.ts";

const BWRAP = await findBwrap();
const ignore = BWRAP === null;
const PATH = "/usr/local/bin:/usr/bin:/bin";
const decoder = new TextDecoder();

function writableDir(dir: string): boolean {
  try {
    Deno.removeSync(Deno.makeTempDirSync({ dir }));
    return true;
  } catch {
    return false;
  }
}
const OUTSIDE_TMP_BASE = writableDir("/var/tmp") ? "/var/tmp" : undefined;

interface Fixture {
  root: string;
  home: string;
  state: string;
  plan: SandboxPlan;
  outside: string;
  [Symbol.asyncDispose](): Promise<void>;
}

async function fixture(base: string | undefined, over: Partial<SandboxPlan> = {}): Promise<Fixture> {
  const root = await Deno.realPath(await Deno.makeTempDir({ dir: base, prefix: "dispatch-sbx-" }));
  const home = join(root, "home");
  const projectDir = join(root, "projects", "p");
  const state = join(home, ".claude");
  await Deno.mkdir(state, { recursive: true });
  await Deno.writeTextFile(join(state, "settings.json"), "{}\n");
  const plan: SandboxPlan = {
    projectDir,
    logsDir: join(projectDir, ".dispatch-logs"),
    claudeBin: "/bin/true",
    state: claudeCodeState({ HOME: home }, projectDir, []),
    rootDir: join(root, "run", "root"),
    network: true,
    ...over,
  };
  await prepareSandbox(plan);
  await Deno.writeTextFile(join(plan.logsDir, "last-session-id"), "11111111-2222-3333-4444-555555555555\n");
  const outside = join(root, "outside");
  await Deno.mkdir(outside);
  return {
    root,
    home,
    state,
    plan,
    outside,
    [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }),
  };
}

async function sandboxed(plan: SandboxPlan, argv: string[]): Promise<{ code: number; out: string }> {
  const output = await new Deno.Command(BWRAP!, {
    args: [...bwrapArgs(plan), ...argv],
    clearEnv: true,
    env: { PATH, HOME: plan.state.copies[0].path.replace(/\/\.claude\.json$/, "") },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: output.code, out: decoder.decode(output.stdout) + decoder.decode(output.stderr) };
}

/** Exit code of `sh -c script` in the sandbox (script gets the path as $1). */
async function sh(plan: SandboxPlan, script: string, arg = ""): Promise<number> {
  return (await sandboxed(plan, ["/bin/sh", "-c", script, "sh", arg])).code;
}

const WRITE = 'echo planted > "$1"';

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

Deno.test({
  name: "sandbox: writes land in the project and Claude Code's state folders only",
  ignore,
  async fn() {
    await using f = await fixture(OUTSIDE_TMP_BASE);
    const { plan, state } = f;
    assert.equal(await sh(plan, WRITE, join(plan.projectDir, "made-inside.txt")), 0);
    assert.equal(await Deno.readTextFile(join(plan.projectDir, "made-inside.txt")), "planted\n");
    const [own] = plan.state.writable;
    assert.equal(await sh(plan, 'echo {} > "$1"', join(own, "s.jsonl")), 0);
    assert.ok(await exists(join(own, "s.jsonl")));
    assert.equal(
      await sh(plan, 'test -s "$1"', join(f.home, ".claude.json")),
      0,
      ".claude.json is readable",
    );
    assert.equal(await sh(plan, "pwd"), 0);
    assert.equal((await sandboxed(plan, ["/bin/pwd"])).out.trim(), plan.projectDir);

    await Deno.mkdir(join(state, "projects", "-other-project"), { recursive: true });
    await Deno.writeTextFile(join(state, "projects", "-other-project", "s.jsonl"), "{}\n");
    const refused = [
      join(f.home, "planted"),
      "/etc/dispatch-sbx-planted",
      "/usr/dispatch-sbx-planted",
      join(f.outside, "planted"),
      join(state, "settings.json"),
      join(state, "settings.local.json"),
      join(state, "planted-at-top"),
      join(state, "plugins", "planted"),
      join(f.home, ".claude.json"),
      // Another project's transcripts, and this project's settings, hooks and MCP servers.
      join(state, "projects", "-other-project", "s.jsonl"),
      join(state, "projects", "planted.jsonl"),
      join(plan.projectDir, ".claude", "settings.json"),
      join(plan.projectDir, ".claude", "settings.local.json"),
      join(plan.projectDir, ".mcp.json"),
    ];
    // Each write fails (read-only) or lands in the run's own root: never on the host.
    for (const path of refused) {
      await sh(plan, WRITE, path);
      assert.notEqual(await Deno.readTextFile(path).catch(() => ""), "planted\n", path);
    }
    await sh(plan, 'mkdir -p "$1/hooks" && echo x > "$1/hooks/h.sh"', state);
    assert.equal(await exists(join(state, "hooks")), false);
    // And those that landed in the run's own root are known.
    const kept = writesOutside(plan).map((w) => w.path);
    for (
      const path of [join(f.home, "planted"), join(state, "planted-at-top"), join(state, "hooks", "h.sh")]
    ) {
      assert.ok(kept.includes(path), `${path} in ${kept}`);
    }
    assert.equal(await Deno.readTextFile(join(state, "settings.json")), "{}\n");
  },
});

Deno.test({
  name: "sandbox: root inside cannot remount the read-only root writable",
  ignore,
  async fn() {
    await using f = await fixture(OUTSIDE_TMP_BASE);
    const target = join(f.outside, "planted");
    const script =
      `mount -o remount,bind,rw / 2>/dev/null; mount -o remount,bind,rw "$(dirname "$1")" 2>/dev/null; ${WRITE}`;
    assert.notEqual(await sh(f.plan, script, target), 0);
    assert.equal(await exists(target), false);
  },
});

Deno.test({
  name: "sandbox: .dispatch-logs is read-only inside: last-session-id cannot be forged, removed or moved",
  ignore,
  async fn() {
    await using f = await fixture(OUTSIDE_TMP_BASE);
    const logs = f.plan.logsDir;
    const id = join(logs, "last-session-id");
    assert.equal(await sh(f.plan, 'cat "$1"', id), 0, "readable");
    assert.notEqual(await sh(f.plan, WRITE, id), 0);
    assert.notEqual(await sh(f.plan, 'rm -f "$1"', id), 0);
    assert.notEqual(await sh(f.plan, 'mv "$1" "$1.moved"', logs), 0);
    assert.notEqual(await sh(f.plan, 'rm -rf "$1"', logs), 0);
    assert.notEqual(await sh(f.plan, WRITE, join(logs, "20260101-000000-1-result.json")), 0);
    assert.equal(await Deno.readTextFile(id), "11111111-2222-3333-4444-555555555555\n");
  },
});

Deno.test({
  name: "sandbox: a setsid daemon started inside is gone when the sandbox's main process exits",
  ignore,
  async fn() {
    await using f = await fixture(OUTSIDE_TMP_BASE);
    const marker = `dispatch-sbx-daemon-${crypto.randomUUID()}`;
    // The script sits in a file so that only the daemon's own command line carries the marker.
    await Deno.writeTextFile(
      join(f.plan.projectDir, "daemon.sh"),
      `setsid sh -c 'sleep 300; : ${marker}' &\nsleep 1\n`,
    );
    const pgrep = async () =>
      decoder.decode(
        (await new Deno.Command("pgrep", { args: ["-f", marker], stdout: "piped" }).output()).stdout,
      )
        .trim();
    const child = new Deno.Command(BWRAP!, {
      args: [...bwrapArgs(f.plan), "/bin/sh", "daemon.sh"],
      clearEnv: true,
      env: { PATH, HOME: f.home },
    }).spawn();
    let seen = "";
    for (let i = 0; i < 50 && seen === ""; i++) {
      seen = await pgrep();
      if (seen === "") await new Promise((r) => setTimeout(r, 20));
    }
    assert.notEqual(seen, "", "the daemon should run while the sandbox does");
    assert.equal((await child.status).code, 0);
    let left = seen;
    for (let i = 0; i < 50 && left !== ""; i++) {
      await new Promise((r) => setTimeout(r, 20));
      left = await pgrep();
    }
    // Never leave a sleeper behind, even when the assertion fails.
    for (const pid of left.split("\n").filter((p) => p !== "")) Deno.kill(Number(pid), "SIGKILL");
    assert.equal(left, "", `daemon survived the sandbox: pids ${left}`);
  },
});

Deno.test({
  name: "sandbox: 127.0.0.1 is reachable with network and not without",
  ignore,
  async fn() {
    await using f = await fixture(OUTSIDE_TMP_BASE);
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const accepting = (async () => {
      try {
        for await (const conn of listener) conn.close();
      } catch { /* closed */ }
    })();
    const port = String(listener.addr.port);
    const connect = ["/bin/bash", "-c", 'exec 3<>"/dev/tcp/127.0.0.1/$1"', "bash", port];
    assert.equal((await sandboxed({ ...f.plan, network: true }, connect)).code, 0);
    assert.notEqual((await sandboxed({ ...f.plan, network: false }, connect)).code, 0);
    listener.close();
    await accepting;
  },
});

Deno.test({
  name: "sandbox: a project and HOME under /tmp are visible and the project writable past the private /tmp",
  ignore,
  async fn() {
    await using f = await fixture("/tmp");
    assert.equal(await sh(f.plan, WRITE, join(f.plan.projectDir, "made-inside.txt")), 0);
    assert.equal(await Deno.readTextFile(join(f.plan.projectDir, "made-inside.txt")), "planted\n");
    assert.equal(await sh(f.plan, 'test -s "$1"', join(f.state, "settings.json")), 0);
    await sh(f.plan, WRITE, join(f.home, "planted"));
    assert.equal(await exists(join(f.home, "planted")), false);
    assert.notEqual(await sh(f.plan, WRITE, join(f.state, "settings.json")), 0);
    assert.notEqual(await sh(f.plan, WRITE, join(f.plan.logsDir, "last-session-id")), 0);
  },
});

Deno.test({
  name: "sandbox: Claude Code installed under /tmp starts inside (real file and symlink bound back)",
  ignore,
  async fn() {
    const installed = await Deno.realPath(await ensureClaudeCli());
    const binDir = await Deno.makeTempDir({ dir: "/tmp", prefix: "dispatch-sbx-cli-" });
    try {
      // The real file under /tmp (hard link, or copy across file systems) and a node_modules-style symlink.
      const real = join(binDir, "pkg", "claude");
      await Deno.mkdir(join(binDir, "pkg"));
      await Deno.link(installed, real).catch(() => Deno.copyFile(installed, real));
      await Deno.mkdir(join(binDir, ".bin"));
      await Deno.symlink(real, join(binDir, ".bin", "claude"));
      await using f = await fixture(OUTSIDE_TMP_BASE, { claudeBin: join(binDir, ".bin", "claude") });
      const run = await sandboxed(f.plan, [f.plan.claudeBin, "--version"]);
      assert.equal(run.code, 0, run.out);
      assert.match(run.out, /\(Claude Code\)/);
      const byRealPath = await sandboxed(f.plan, [real, "--version"]);
      assert.equal(byRealPath.code, 0, byRealPath.out);
      // Without the bind-back the private /tmp hides it.
      const bare = await new Deno.Command(BWRAP!, {
        args: [
          "--ro-bind",
          "/",
          "/",
          "--dev",
          "/dev",
          "--proc",
          "/proc",
          "--tmpfs",
          "/tmp",
          "--",
          real,
          "--version",
        ],
        stdout: "null",
        stderr: "null",
      }).output();
      assert.notEqual(bare.code, 0);
    } finally {
      await Deno.remove(binDir, { recursive: true });
    }
  },
});
