import assert from "node:assert/strict";
import { join } from "node:path";
import {
  bwrapArgs,
  CLAUDE_STATE_SUBDIRS,
  claudeGlobalConfigPath,
  claudeSessionFolders,
  findBwrap,
  prepareSandbox,
  realPath,
  sandboxDirsToCreate,
  sandboxFilesToCreate,
  type SandboxPlan,
} from "../src/sandbox/bwrap.ts";
import { claudeProjectFolder } from "../src/agents/claude_code/sessions.ts";

/** A plan whose folders live in `root` (which need not exist: realpath falls back per component). */
function planIn(root: string, over: Partial<SandboxPlan> = {}): SandboxPlan {
  const home = join(root, "home");
  const plan = {
    projectDir: join(root, "projects", "p"),
    logsDir: join(root, "projects", "p", ".dispatch-logs"),
    home,
    claudeBin: "/usr/bin/claude",
    claudeStateDir: join(home, ".claude"),
    network: true,
    ...over,
  };
  // The run's own session folder, as Claude Code's agent names it (src/agents/claude_code/sessions.ts).
  const own = join(plan.claudeStateDir, "projects", claudeProjectFolder(realPath(plan.projectDir)));
  return { sessionFolders: [own], ...plan };
}

/** Index of the option `flag` followed by `values` in `args`, or -1. */
function indexOf(args: string[], flag: string, ...values: string[]): number {
  return args.findIndex((a, i) => a === flag && values.every((v, j) => args[i + 1 + j] === v));
}

Deno.test("bwrapArgs: read-only root, private /dev, /proc and /tmp first; chdir and -- last", () => {
  const plan = planIn("/srv/sbx");
  const args = bwrapArgs(plan);
  assert.deepEqual(args.slice(0, 9), [
    "--ro-bind",
    "/",
    "/",
    "--dev",
    "/dev",
    "--proc",
    "/proc",
    "--tmpfs",
    "/tmp",
  ]);
  assert.deepEqual(args.slice(-3), ["--chdir", "/srv/sbx/projects/p", "--"]);
  assert.ok(indexOf(args, "--setenv", "IS_SANDBOX", "1") >= 0);
  for (const flag of ["--unshare-pid", "--die-with-parent"]) assert.ok(args.includes(flag), flag);
  assert.ok(indexOf(args, "--cap-drop", "ALL") >= 0, "root must lose CAP_SYS_ADMIN (remount)");
  assert.equal(args.includes("--new-session"), false);
});

Deno.test("bwrapArgs: the project is writable, its .dispatch-logs read-only and bound after it", () => {
  const args = bwrapArgs(planIn("/srv/sbx"));
  const project = indexOf(args, "--bind", "/srv/sbx/projects/p", "/srv/sbx/projects/p");
  const logs = indexOf(
    args,
    "--ro-bind",
    "/srv/sbx/projects/p/.dispatch-logs",
    "/srv/sbx/projects/p/.dispatch-logs",
  );
  assert.ok(project > 0);
  assert.ok(logs > project);
  assert.equal(
    indexOf(args, "--bind", "/srv/sbx/projects/p/.dispatch-logs", "/srv/sbx/projects/p/.dispatch-logs"),
    -1,
  );
});

Deno.test("bwrapArgs: network stays unless network is false", () => {
  assert.equal(bwrapArgs(planIn("/srv/sbx", { network: true })).includes("--unshare-net"), false);
  assert.equal(bwrapArgs(planIn("/srv/sbx", { network: false })).includes("--unshare-net"), true);
});

Deno.test("bwrapArgs: only Claude Code's state subfolders are writable, never ~/.claude or settings.json", () => {
  const args = bwrapArgs(planIn("/srv/sbx"));
  const state = "/srv/sbx/home/.claude";
  const writable = args.flatMap((a, i) => a === "--bind" || a === "--bind-try" ? [args[i + 2]] : []);
  assert.equal(writable.includes(state), false);
  assert.equal(writable.includes("/srv/sbx/home"), false);
  assert.equal(writable.some((w) => /settings|hooks|\/plugins$|skills|agents|commands/.test(w)), false);
  for (const sub of ["sessions", "todos", "backups", "plugins/store"]) {
    assert.ok(writable.includes(join(state, sub)), sub);
  }
  // Transcripts: only the project's own session folder, not every project's.
  assert.equal(writable.includes(join(state, "projects")), false);
  assert.ok(writable.includes(join(state, "projects", "-srv-sbx-projects-p")));
  // Writable, .claude.json could carry `mcpServers` commands into later unsandboxed runs.
  assert.equal(writable.some((w) => w.endsWith(".claude.json") || w.endsWith(".credentials.json")), false);
  // Scripts its Bash tool sources live on a private tmpfs, not in the real folder.
  assert.ok(indexOf(args, "--tmpfs", join(state, "shell-snapshots")) > 0);
  assert.ok(indexOf(args, "--tmpfs", join(state, "session-env")) > 0);
  assert.equal(args.some((a, i) => a === "--ro-bind-try" && args[i + 1] === state), false);
});

Deno.test("with CLAUDE_CONFIG_DIR, .claude.json and the state subfolders are inside it", () => {
  const plan = planIn("/srv/sbx", { claudeStateDir: "/srv/cfg" });
  assert.equal(claudeGlobalConfigPath(plan), "/srv/cfg/.claude.json");
  assert.equal(claudeGlobalConfigPath(planIn("/srv/sbx")), "/srv/sbx/home/.claude.json");
  assert.deepEqual(sandboxFilesToCreate(plan)[0], {
    path: "/srv/cfg/.claude.json",
    content: "{}\n",
    when: "missing-or-empty",
  });
  const own = "/srv/cfg/projects/-srv-sbx-projects-p";
  assert.ok(indexOf(bwrapArgs(plan), "--bind", own, own) > 0);
});

Deno.test("bwrapArgs: a project and HOME under /tmp are mounted after the private /tmp", () => {
  const args = bwrapArgs(planIn("/tmp/nonexistent-sbx"));
  const tmpfs = indexOf(args, "--tmpfs", "/tmp");
  const project = indexOf(
    args,
    "--bind",
    "/tmp/nonexistent-sbx/projects/p",
    "/tmp/nonexistent-sbx/projects/p",
  );
  const home = indexOf(args, "--ro-bind-try", "/tmp/nonexistent-sbx/home", "/tmp/nonexistent-sbx/home");
  const projects = indexOf(
    args,
    "--bind",
    ...Array(2).fill("/tmp/nonexistent-sbx/home/.claude/projects/-tmp-nonexistent-sbx-projects-p"),
  );
  assert.ok(tmpfs >= 0 && project > tmpfs && home > tmpfs && projects > home, args.join(" "));
});

Deno.test("bwrapArgs: a CLI under /tmp is bound back read-only, at its real path and as given", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sbx-bin-" });
  try {
    const real = join(dir, "pkg", "claude");
    await Deno.mkdir(join(dir, "pkg"));
    await Deno.writeTextFile(real, "");
    await Deno.mkdir(join(dir, ".bin"));
    await Deno.symlink(real, join(dir, ".bin", "claude"));
    const args = bwrapArgs(planIn("/srv/sbx", { claudeBin: join(dir, ".bin", "claude") }));
    const tmpfs = indexOf(args, "--tmpfs", "/tmp");
    const realPath = await Deno.realPath(real);
    assert.ok(indexOf(args, "--ro-bind", realPath, realPath) > tmpfs);
    assert.ok(indexOf(args, "--ro-bind", realPath, join(dir, ".bin", "claude")) > tmpfs);
    // A CLI outside every private or writable mount needs nothing.
    assert.equal(
      bwrapArgs(planIn("/srv/sbx")).some((a) => a.includes("claude") && !a.includes(".claude")),
      false,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bwrapArgs: symlinked folders are bound at their real paths", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "sbx-link-" }));
  try {
    await Deno.mkdir(join(dir, "real-project"));
    await Deno.symlink(join(dir, "real-project"), join(dir, "link"));
    const plan = planIn(dir, { projectDir: join(dir, "link"), logsDir: join(dir, "link", ".dispatch-logs") });
    const args = bwrapArgs(plan);
    const real = join(dir, "real-project");
    assert.ok(indexOf(args, "--bind", real, real) > 0);
    assert.ok(indexOf(args, "--ro-bind", join(real, ".dispatch-logs"), join(real, ".dispatch-logs")) > 0);
    assert.deepEqual(args.slice(-3), ["--chdir", real, "--"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bwrapArgs: extra read-only paths come last and may be missing", () => {
  const args = bwrapArgs(planIn("/srv/sbx", { extraReadOnly: ["/opt/none/x"] }));
  assert.ok(indexOf(args, "--ro-bind-try", "/opt/none/x", "/opt/none/x") > 0);
});

Deno.test("bwrapArgs: a $TMPDIR other than /tmp gets its own tmpfs, mounted after what covers it", () => {
  const outside = bwrapArgs(planIn("/srv/sbx", { tmpDir: "/var/tmp/sbx-t" }));
  assert.ok(indexOf(outside, "--tmpfs", "/var/tmp/sbx-t") > indexOf(outside, "--tmpfs", "/tmp"));
  const inside = bwrapArgs(planIn("/srv/sbx", { tmpDir: "/tmp/sbx-t" }));
  assert.ok(indexOf(inside, "--tmpfs", "/tmp/sbx-t") > indexOf(inside, "--tmpfs", "/tmp"));
  // A $TMPDIR inside a HOME under /tmp (the tests' layout): writable although HOME is bound read-only.
  const inHome = bwrapArgs(planIn("/tmp/sbx-h", { tmpDir: "/tmp/sbx-h/home/tmp" }));
  const home = indexOf(inHome, "--ro-bind-try", "/tmp/sbx-h/home", "/tmp/sbx-h/home");
  assert.ok(home > 0 && indexOf(inHome, "--tmpfs", "/tmp/sbx-h/home/tmp") > home);
});

Deno.test("sandboxDirsToCreate and sandboxFilesToCreate list every bind source", () => {
  const plan = planIn("/srv/sbx", { tmpDir: "/var/tmp/t" });
  const dirs = sandboxDirsToCreate(plan);
  assert.ok(dirs.includes(plan.projectDir) && dirs.includes(plan.logsDir) && dirs.includes("/var/tmp/t"));
  for (const sub of CLAUDE_STATE_SUBDIRS) assert.ok(dirs.includes(join(plan.claudeStateDir, sub)), sub);
  assert.equal(dirs.includes(plan.claudeStateDir), false);
  assert.ok(dirs.includes("/srv/sbx/projects/p/.claude"));
  for (const f of claudeSessionFolders(plan)) assert.ok(dirs.includes(f), f);
  assert.deepEqual(sandboxFilesToCreate(plan), [
    { path: "/srv/sbx/home/.claude.json", content: "{}\n", when: "missing-or-empty" },
    { path: "/srv/sbx/projects/p/.mcp.json", content: '{ "mcpServers": {} }\n', when: "missing" },
  ]);
});

Deno.test("bwrapArgs: the project's .claude and .mcp.json are read-only, bound after the project", () => {
  const args = bwrapArgs(planIn("/srv/sbx"));
  const project = indexOf(args, "--bind", "/srv/sbx/projects/p", "/srv/sbx/projects/p");
  for (const name of [".claude", ".mcp.json"]) {
    const p = join("/srv/sbx/projects/p", name);
    assert.ok(indexOf(args, "--ro-bind", p, p) > project, name);
    assert.equal(indexOf(args, "--bind", p, p), -1, name);
  }
});

Deno.test("bwrapArgs: a resumed session's folder elsewhere is writable too; other session folders are not", () => {
  const other = "/srv/sbx/home/.claude/projects/-old-place-p";
  const args = bwrapArgs(planIn("/srv/sbx", { sessionFolders: [other] }));
  assert.ok(indexOf(args, "--bind", other, other) > 0);
  assert.deepEqual(claudeSessionFolders(planIn("/srv/sbx")), [
    "/srv/sbx/home/.claude/projects/-srv-sbx-projects-p",
  ]);
});

Deno.test("prepareSandbox creates the folders and fills an empty .claude.json but keeps a real one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sbx-prep-" });
  try {
    const plan = planIn(dir);
    await prepareSandbox(plan);
    for (const d of sandboxDirsToCreate(plan)) assert.ok((await Deno.stat(d)).isDirectory, d);
    assert.equal(await Deno.readTextFile(join(dir, "home", ".claude.json")), "{}\n");
    await Deno.writeTextFile(join(dir, "home", ".claude.json"), "");
    await prepareSandbox(plan);
    assert.equal(await Deno.readTextFile(join(dir, "home", ".claude.json")), "{}\n");
    await Deno.writeTextFile(join(dir, "home", ".claude.json"), '{"numStartups":3}');
    await prepareSandbox(plan);
    assert.equal(await Deno.readTextFile(join(dir, "home", ".claude.json")), '{"numStartups":3}');
    // The project's .mcp.json: created when missing, a real one (or an empty one) kept.
    const mcp = join(plan.projectDir, ".mcp.json");
    assert.equal(await Deno.readTextFile(mcp), '{ "mcpServers": {} }\n');
    await Deno.writeTextFile(mcp, "");
    await prepareSandbox(plan);
    assert.equal(await Deno.readTextFile(mcp), "");
    await Deno.writeTextFile(mcp, '{"mcpServers":{"x":{"command":"x"}}}');
    await prepareSandbox(plan);
    assert.equal(await Deno.readTextFile(mcp), '{"mcpServers":{"x":{"command":"x"}}}');
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("findBwrap looks on PATH, skips non-executables, and is null off Linux", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sbx-path-" });
  try {
    await Deno.mkdir(join(dir, "a"));
    await Deno.mkdir(join(dir, "b"));
    await Deno.writeTextFile(join(dir, "a", "bwrap"), "not executable");
    await Deno.writeTextFile(join(dir, "b", "bwrap"), "#!/bin/sh\n");
    await Deno.chmod(join(dir, "b", "bwrap"), 0o755);
    const path = `${join(dir, "a")}::${join(dir, "b")}`;
    assert.equal(await findBwrap(path, "linux"), join(dir, "b", "bwrap"));
    assert.equal(await findBwrap(path, "darwin"), null);
    assert.equal(await findBwrap(join(dir, "a"), "linux"), null);
    assert.equal(await findBwrap("", "linux"), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
