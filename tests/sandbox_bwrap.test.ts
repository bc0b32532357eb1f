import assert from "node:assert/strict";
import { join } from "node:path";
import {
  bwrapArgs,
  findBwrap,
  prepareSandbox,
  sandboxDirsToCreate,
  sandboxMounts,
  type SandboxPlan,
  sandboxVisible,
  writesOutside,
} from "../src/sandbox/bwrap.ts";
import {
  CLAUDE_SCRATCH_SUBDIRS,
  claudeCodeState,
  ownGlobalConfig,
} from "../src/agents/claude_code/sandbox_state.ts";

/** A plan whose folders live in `root` (which need not exist: realpath falls back per component). */
function planIn(
  root: string,
  over: Partial<SandboxPlan> = {},
  env: Record<string, string> = {},
): SandboxPlan {
  const home = join(root, "home");
  const projectDir = over.projectDir ?? join(root, "projects", "p");
  return {
    projectDir,
    logsDir: join(projectDir, ".dispatch-logs"),
    claudeBin: "/usr/bin/claude",
    state: claudeCodeState({ HOME: home, ...env }, projectDir, []),
    rootDir: join(root, "run", "root"),
    network: true,
    ...over,
  };
}

/** Index of the option `flag` followed by `values` in `args`, or -1. */
function indexOf(args: string[], flag: string, ...values: string[]): number {
  return args.findIndex((a, i) => a === flag && values.every((v, j) => args[i + 1 + j] === v));
}

/** The destinations of one kind of bind. */
function dests(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => a === flag ? [args[i + 2]] : []);
}

Deno.test("bwrapArgs: the run's own root first, the system tree read-only, private /dev, /proc, /tmp, /run; chdir and -- last", () => {
  const plan = planIn("/srv/sbx");
  const args = bwrapArgs(plan);
  assert.deepEqual(args.slice(0, 3), ["--bind", "/srv/sbx/run/root", "/"]);
  assert.equal(indexOf(args, "--ro-bind", "/", "/"), -1, "not the host's whole root");
  assert.ok(indexOf(args, "--ro-bind", "/usr", "/usr") > 0);
  assert.ok(indexOf(args, "--ro-bind", "/etc", "/etc") > 0);
  for (
    const [flag, dest] of [["--dev", "/dev"], ["--proc", "/proc"], ["--tmpfs", "/tmp"], ["--tmpfs", "/run"]]
  ) {
    assert.ok(indexOf(args, flag, dest) > 0, dest);
  }
  assert.deepEqual(args.slice(-3), ["--chdir", "/srv/sbx/projects/p", "--"]);
  assert.ok(indexOf(args, "--setenv", "IS_SANDBOX", "1") >= 0);
  for (const flag of ["--unshare-pid", "--die-with-parent"]) assert.ok(args.includes(flag), flag);
  assert.ok(indexOf(args, "--cap-drop", "ALL") >= 0, "root must lose CAP_SYS_ADMIN (remount)");
  assert.equal(args.includes("--new-session"), false);
});

Deno.test("bwrapArgs: /etc's secrets are hidden when present", () => {
  const args = bwrapArgs(planIn("/srv/sbx"));
  for (const p of ["/etc/shadow", "/etc/gshadow"]) {
    const present = (() => {
      try {
        return Deno.lstatSync(p).isFile;
      } catch {
        return false;
      }
    })();
    if (present) {
      assert.ok(indexOf(args, "--ro-bind", "/dev/null", p) > indexOf(args, "--ro-bind", "/etc", "/etc"));
    }
  }
});

Deno.test("bwrapArgs: the project is writable, its .dispatch-logs and control files read-only and bound after it", () => {
  const args = bwrapArgs(planIn("/srv/sbx"));
  const project = indexOf(args, "--bind", "/srv/sbx/projects/p", "/srv/sbx/projects/p");
  assert.ok(project > 0);
  for (const name of [".dispatch-logs", ".claude", ".mcp.json"]) {
    const p = join("/srv/sbx/projects/p", name);
    assert.ok(indexOf(args, "--ro-bind", p, p) > project, name);
    assert.equal(indexOf(args, "--bind", p, p), -1, name);
  }
});

Deno.test("bwrapArgs: network stays unless network is false; the API socket is bound when given", () => {
  assert.equal(bwrapArgs(planIn("/srv/sbx", { network: true })).includes("--unshare-net"), false);
  const nonet = bwrapArgs(planIn("/srv/sbx", { network: false, apiSocket: "/srv/run/api.sock" }));
  assert.equal(nonet.includes("--unshare-net"), true);
  assert.ok(
    indexOf(nonet, "--bind", "/srv/run/api.sock", "/run/dispatch-cc/api.sock") >
      indexOf(nonet, "--tmpfs", "/run"),
  );
});

Deno.test("bwrapArgs: of $HOME only Claude Code's own: this project's sessions writable, scratch private, config read-only", () => {
  const args = bwrapArgs(planIn("/srv/sbx"));
  const state = "/srv/sbx/home/.claude";
  const writable = dests(args, "--bind");
  assert.deepEqual(writable.filter((w) => w.startsWith("/srv/sbx/home")), [
    join(state, "projects", "-srv-sbx-projects-p"),
  ]);
  assert.equal(args.includes("/srv/sbx/home"), false, "$HOME itself is not shown");
  for (const sub of CLAUDE_SCRATCH_SUBDIRS) assert.ok(indexOf(args, "--tmpfs", join(state, sub)) > 0, sub);
  // Missing config files are simply absent (their paths do not exist under /srv/sbx).
  assert.equal(dests(args, "--ro-bind-try").some((d) => d.startsWith(state)), false);
});

Deno.test("with CLAUDE_CONFIG_DIR, the sessions, scratch and .claude.json copy are inside it", () => {
  const plan = planIn("/srv/sbx", {}, { CLAUDE_CONFIG_DIR: "/srv/cfg" });
  const own = "/srv/cfg/projects/-srv-sbx-projects-p";
  assert.ok(indexOf(bwrapArgs(plan), "--bind", own, own) > 0);
  assert.ok(indexOf(bwrapArgs(plan), "--tmpfs", "/srv/cfg/sessions") > 0);
  assert.deepEqual(plan.state.copies.map((c) => c.path), ["/srv/cfg/.claude.json"]);
  assert.deepEqual(planIn("/srv/sbx").state.copies.map((c) => c.path), ["/srv/sbx/home/.claude.json"]);
});

Deno.test("ownGlobalConfig keeps the user's settings and only this project's entry", () => {
  const text = JSON.stringify({ theme: "dark", projects: { "/p/a": { x: 1 }, "/p/b": { secret: 2 } } });
  assert.deepEqual(JSON.parse(ownGlobalConfig(text, "/p/a")), {
    theme: "dark",
    projects: { "/p/a": { x: 1 } },
  });
  assert.deepEqual(JSON.parse(ownGlobalConfig(text, "/p/c")), { theme: "dark", projects: {} });
  assert.equal(ownGlobalConfig("", "/p/a"), "{}\n");
  assert.equal(ownGlobalConfig(null, "/p/a"), "{}\n");
  assert.equal(ownGlobalConfig("[1]", "/p/a"), "{}\n");
});

Deno.test("bwrapArgs: the CLI is bound read-only at its real path and as given", async () => {
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
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bwrapArgs: a CLI installed with npm keeps its whole node_modules folder, read-only", () => {
  const bin = "/srv/tools/node_modules/@openai/codex/bin/codex.js";
  const args = bwrapArgs(planIn("/srv/sbx", { claudeBin: bin }));
  assert.ok(indexOf(args, "--ro-bind", "/srv/tools/node_modules", "/srv/tools/node_modules") > 0);
  assert.equal(indexOf(args, "--ro-bind", bin, bin), -1);
});

Deno.test("bwrapArgs: symlinked folders are bound at their real paths", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "sbx-link-" }));
  try {
    await Deno.mkdir(join(dir, "real-project"));
    await Deno.symlink(join(dir, "real-project"), join(dir, "link"));
    const args = bwrapArgs(planIn(dir, { projectDir: join(dir, "link") }));
    const real = join(dir, "real-project");
    assert.ok(indexOf(args, "--bind", real, real) > 0);
    assert.ok(indexOf(args, "--ro-bind", join(real, ".dispatch-logs"), join(real, ".dispatch-logs")) > 0);
    assert.deepEqual(args.slice(-3), ["--chdir", real, "--"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bwrapArgs: PATH folders are visible read-only, never one that holds the project or $HOME", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "sbx-path-" }));
  try {
    await Deno.mkdir(join(dir, "tools", "bin"), { recursive: true });
    await Deno.mkdir(join(dir, "projects", "p"), { recursive: true });
    const plan = planIn(dir, { pathDirs: [join(dir, "tools", "bin"), dir, "/usr/bin", "relative/bin", "/"] });
    const ro = dests(bwrapArgs(plan), "--ro-bind-try");
    assert.ok(ro.includes(join(dir, "tools", "bin")));
    assert.equal(ro.includes(dir), false, "a folder holding the projects");
    assert.equal(ro.includes("/usr/bin"), false, "already in the system tree");
    assert.equal(ro.includes("/"), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bwrapArgs: extra read-only paths may be missing; a $TMPDIR other than /tmp gets its own tmpfs", () => {
  const args = bwrapArgs(planIn("/srv/sbx", { extraReadOnly: ["/opt/none/x"], tmpDir: "/var/tmp/sbx-t" }));
  assert.ok(indexOf(args, "--ro-bind-try", "/opt/none/x", "/opt/none/x") > 0);
  assert.ok(indexOf(args, "--tmpfs", "/var/tmp/sbx-t") > indexOf(args, "--tmpfs", "/tmp"));
});

Deno.test("sandboxVisible lists every path with its access; nothing of $HOME but Claude Code's own", () => {
  const visible = sandboxVisible(planIn("/srv/sbx"));
  const at = (p: string) => visible.find((v) => v.path === p)?.access;
  assert.equal(at("/usr"), "read-only");
  assert.equal(at("/srv/sbx/projects/p"), "read-write");
  assert.equal(at("/srv/sbx/projects/p/.dispatch-logs"), "read-only");
  assert.equal(at("/tmp"), "private");
  assert.equal(at("/srv/sbx/home"), undefined);
  assert.ok(
    visible.every((v) => !v.path.startsWith("/srv/sbx/home") || v.path.startsWith("/srv/sbx/home/.claude/")),
  );
});

Deno.test("prepareSandbox and writesOutside: mount points, mirrored folders and the CLI's own files are not reported; anything else is, down to its files", async () => {
  // Outside /tmp: inside, all of /tmp is the private tmpfs, so nothing there is ever in the run's root.
  const dir = await Deno.realPath(await Deno.makeTempDir({ dir: "/var/tmp", prefix: "sbx-prep-" }));
  try {
    const plan = planIn(dir);
    await Deno.mkdir(join(dir, "home", ".claude"), { recursive: true });
    await Deno.writeTextFile(
      join(dir, "home", ".claude.json"),
      JSON.stringify({ projects: { "/x": {} }, n: 1 }),
    );
    await prepareSandbox(plan);
    for (const d of sandboxDirsToCreate(plan)) assert.ok((await Deno.stat(d)).isDirectory, d);
    // The copy of .claude.json in the run's root, without other projects.
    const copy = join(plan.rootDir, dir, "home", ".claude.json");
    assert.deepEqual(JSON.parse(await Deno.readTextFile(copy)), { projects: {}, n: 1 });
    assert.equal(await Deno.readTextFile(join(plan.projectDir, ".mcp.json")), '{ "mcpServers": {} }\n');
    // What bwrap would leave: mount points. Then what a run wrote outside its binds.
    for (const m of sandboxMounts(plan)) {
      if (m.kind === "root" || m.kind === "symlink") continue;
      await Deno.mkdir(join(plan.rootDir, m.dest), { recursive: true });
    }
    assert.deepEqual(writesOutside(plan), []);
    await Deno.writeTextFile(`${copy}.tmp.1.abc`, "x"); // Claude Code's own save of its config
    await Deno.mkdir(join(plan.rootDir, dir, "home", ".claude"), { recursive: true });
    await Deno.writeTextFile(join(plan.rootDir, dir, "home", ".claude", ".last-cleanup"), "x");
    await Deno.mkdir(join(plan.rootDir, "opt", "new", "deep"), { recursive: true });
    await Deno.writeTextFile(join(plan.rootDir, "opt", "new", "deep", "r.txt"), "data");
    await Deno.writeTextFile(join(plan.rootDir, dir, "home", ".bashrc"), "evil");
    await Deno.mkdir(join(plan.rootDir, "made-at-root"));
    assert.deepEqual(
      writesOutside(plan).map((w) => `${w.kind} ${w.path}`).sort(),
      [
        `file ${join(dir, "home", ".bashrc")}`,
        "file /opt/new/deep/r.txt",
        "folder /made-at-root",
      ].sort(),
    );
    assert.equal(writesOutside(plan, 1).length, 1);
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
