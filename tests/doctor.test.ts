/**
 * `dispatch-cc doctor`: each check on a stand-in machine (a fake probe), then the real command on this
 * machine with temp folders and stand-in specialist binaries.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Check, type DoctorProbe, runChecks } from "../src/doctor/checks.ts";
import { fileSystemRisk, mountOf } from "../src/doctor/filesystem.ts";
import { compareVersions, firstVersion, TESTED_VERSIONS } from "../src/doctor/versions.ts";
import type { VersionInfo } from "../src/version_info.ts";
import { CLAUDE_CODE_VERSION, ensureClaudeCli } from "./support/claude_cli.ts";
import { DENO_DIR, runCli } from "./support/cli.ts";
import { tempDir } from "./support/temp.ts";

const VERSION: VersionInfo = {
  dispatch_cc: "0.1.0",
  commit: "abc",
  build: "source",
  deno: "2.9.6",
  target: "x86_64-unknown-linux-gnu",
};

/** A machine where everything a default run needs is present; `over` changes parts of it. */
function machine(
  over: Partial<DoctorProbe> & { programs?: Record<string, string | null> } = {},
): DoctorProbe {
  const programs: Record<string, string | null> = {
    claude: `${TESTED_VERSIONS.claude} (Claude Code)`,
    bwrap: "bubblewrap 0.8.0",
    socat: "socat version 1.7.4.4",
    git: "git version 2.39.5",
    ...over.programs,
  };
  const { programs: _, ...rest } = over;
  return {
    env: { HOME: "/home/me", PATH: "/usr/bin", ANTHROPIC_API_KEY: "k" },
    os: "linux",
    uid: 1000,
    projectsDir: "/home/me/dispatch-projects",
    userCwd: "/home/me",
    which: (name) =>
      Promise.resolve(programs[name] === undefined || programs[name] === null ? null : `/usr/bin/${name}`),
    isExecutable: () => Promise.resolve(true),
    runProgram: (bin) => {
      const out = programs[bin.split("/").pop()!];
      return Promise.resolve(
        out === undefined || out === null ? { ok: false, output: "ENOENT" } : { ok: true, output: out },
      );
    },
    readText: () => Promise.resolve(null),
    exists: () => Promise.resolve(false),
    kind: (path) =>
      Promise.resolve(path === "/home/me/dispatch-projects" || path === "/home/me" ? "directory" : "missing"),
    exclusiveCreate: () => Promise.resolve({ writable: true, exclusive: true, error: null }),
    fileSystemType: () => Promise.resolve({ type: "ext4", mountPoint: "/" }),
    listFolder: () => Promise.resolve([]),
    ...rest,
  };
}

const byId = (checks: Check[], id: string) => {
  const c = checks.find((c) => c.id === id);
  assert.ok(c, `no check ${id}`);
  return c;
};

Deno.test("doctor: everything a default run needs is there: ok, optional specialists only informational", async () => {
  const r = await runChecks(machine(), VERSION);
  assert.equal(r.ok, true);
  assert.equal(byId(r.checks, "claude").status, "ok");
  assert.equal(byId(r.checks, "claude_auth").status, "ok");
  assert.deepEqual(byId(r.checks, "claude_auth").details.sources, ["ANTHROPIC_API_KEY"]);
  assert.equal(byId(r.checks, "codex").status, "info");
  assert.equal(byId(r.checks, "gemini").status, "info");
  assert.equal(byId(r.checks, "projects_dir").status, "ok");
  assert.equal(byId(r.checks, "locks").status, "ok");
  assert.equal(byId(r.checks, "sandbox").status, "ok");
  assert.equal(byId(r.checks, "settings").status, "ok");
  assert.deepEqual(r.checks.map((c) => c.id), [
    "dispatch_cc",
    "claude",
    "claude_auth",
    "codex",
    "codex_auth",
    "gemini",
    "gemini_auth",
    "projects_dir",
    "locks",
    "settings",
    "sandbox",
    "socat",
    "index",
    "git",
  ]);
});

Deno.test("doctor: Claude Code missing fails the report, with the install command", async () => {
  const r = await runChecks(machine({ programs: { claude: null } }), VERSION);
  assert.equal(r.ok, false);
  const c = byId(r.checks, "claude");
  assert.equal(c.status, "fail");
  assert.match(c.fix!, /npm install -g @anthropic-ai\/claude-code@2\.1\.328/);
});

Deno.test("doctor: a specialist older than the version tested is a warning naming both versions", async () => {
  const r = await runChecks(
    machine({ programs: { claude: "2.0.1 (Claude Code)", codex: "codex-cli 0.100.0", gemini: "0.61.0" } }),
    VERSION,
  );
  assert.equal(r.ok, true);
  assert.equal(byId(r.checks, "claude").status, "warn");
  assert.match(byId(r.checks, "claude").summary, /2\.0\.1.*older than the version tested \(2\.1\.328\)/);
  assert.equal(byId(r.checks, "codex").status, "warn");
  assert.equal(byId(r.checks, "gemini").status, "ok");
  assert.equal(byId(r.checks, "gemini").details.version, "0.61.0");
});

Deno.test("doctor: DISPATCH_CODEX_BIN naming no executable is a failure of that check, not of the report", async () => {
  const p = machine();
  p.env = { ...p.env, DISPATCH_CODEX_BIN: "/nowhere/codex" };
  p.isExecutable = (path) => Promise.resolve(path !== "/nowhere/codex");
  const r = await runChecks(p, VERSION);
  assert.equal(byId(r.checks, "codex").status, "fail");
  assert.equal(byId(r.checks, "codex").required, false);
  assert.equal(r.ok, true);
});

Deno.test("doctor: credentials are seen in files and settings, never by their values", async () => {
  const p = machine({ programs: { codex: "codex-cli 0.171.0", gemini: "0.61.0" } });
  p.env = { HOME: "/home/me", PATH: "/usr/bin", CODEX_HOME: "/cx" };
  const files = new Set(["/home/me/.claude/.credentials.json", "/cx/auth.json"]);
  p.exists = (path) => Promise.resolve(files.has(path));
  p.readText = (path) =>
    Promise.resolve(
      path === "/home/me/.gemini/settings.json"
        ? '{"security":{"auth":{"selectedType":"oauth-personal"}}}'
        : null,
    );
  const r = await runChecks(p, VERSION);
  assert.deepEqual(byId(r.checks, "claude_auth").details.sources, ["/home/me/.claude/.credentials.json"]);
  assert.deepEqual(byId(r.checks, "codex_auth").details.sources, ["/cx/auth.json"]);
  assert.deepEqual(byId(r.checks, "gemini_auth").details.sources, [
    "auth type oauth-personal in /home/me/.gemini/settings.json",
  ]);
  p.exists = () => Promise.resolve(false);
  p.readText = () => Promise.resolve(null);
  const none = await runChecks(p, VERSION);
  assert.equal(byId(none.checks, "claude_auth").status, "warn");
  assert.match(byId(none.checks, "claude_auth").fix!, /ANTHROPIC_API_KEY/);
  assert.equal(none.ok, true, "a login cannot be seen for sure without the network: never a failure");
});

Deno.test("doctor: a projects folder that cannot be written, or is a file, fails the report", async () => {
  const ro = await runChecks(
    machine({
      exclusiveCreate: () => Promise.resolve({ writable: false, exclusive: false, error: "EACCES" }),
    }),
    VERSION,
  );
  assert.equal(ro.ok, false);
  assert.match(byId(ro.checks, "projects_dir").summary, /cannot write there: EACCES/);
  assert.match(byId(ro.checks, "projects_dir").fix!, /DISPATCH_PROJECTS_DIR/);
  const file = await runChecks(machine({ kind: () => Promise.resolve("other") }), VERSION);
  assert.equal(file.ok, false);
  assert.match(byId(file.checks, "projects_dir").summary, /is not a folder/);
  const unknown = await runChecks(machine({ projectsDir: "" }), VERSION);
  assert.equal(unknown.ok, false);
  assert.match(byId(unknown.checks, "projects_dir").summary, /HOME is not set/);
});

Deno.test("doctor: a missing projects folder is fine when its parent is writable (the first run creates it)", async () => {
  const probed: string[] = [];
  const r = await runChecks(
    machine({
      projectsDir: "/home/me/a/b/projects",
      exclusiveCreate: (
        dir,
      ) => (probed.push(dir), Promise.resolve({ writable: true, exclusive: true, error: null })),
    }),
    VERSION,
  );
  assert.equal(r.ok, true);
  assert.deepEqual(probed, ["/home/me"]);
  assert.match(byId(r.checks, "projects_dir").summary, /does not exist yet .* creates it in \/home\/me/);
});

Deno.test("doctor: a network file system is a warning; exclusive create not working is a failure", async () => {
  const nfs = await runChecks(
    machine({ fileSystemType: () => Promise.resolve({ type: "nfs4", mountPoint: "/home" }) }),
    VERSION,
  );
  assert.equal(byId(nfs.checks, "locks").status, "warn");
  assert.match(byId(nfs.checks, "locks").summary, /nfs4 \(\/home\): a network file system/);
  assert.equal(nfs.ok, true);
  const noExcl = await runChecks(
    machine({ exclusiveCreate: () => Promise.resolve({ writable: true, exclusive: false, error: null }) }),
    VERSION,
  );
  assert.equal(byId(noExcl.checks, "locks").status, "fail");
  assert.equal(noExcl.ok, false);
});

Deno.test("doctor: malformed settings fail (every command would refuse them); the ceiling in force is named", async () => {
  const p = machine();
  p.env = { ...p.env, DISPATCH_TIMEOUT: "soon", DISPATCH_MAX_PERMISSION: "everything" };
  const r = await runChecks(p, VERSION);
  const s = byId(r.checks, "settings");
  assert.equal(s.status, "fail");
  assert.match(s.summary, /DISPATCH_TIMEOUT must be a positive number/);
  assert.match(s.summary, /DISPATCH_MAX_PERMISSION: unknown permission mode "everything"/);
  assert.equal(r.ok, false);
  const q = machine();
  q.env = { ...q.env, DISPATCH_MAX_PERMISSION: "plan" };
  const ok = byId((await runChecks(q, VERSION)).checks, "settings");
  assert.equal(ok.status, "warn", "the default acceptEdits is above a plan ceiling");
  assert.equal(ok.details.ceiling, "plan");
  assert.match(ok.summary, /above the ceiling/);
});

Deno.test("doctor: the sandbox is optional, unless DISPATCH_SANDBOX asks for it", async () => {
  const noBwrap = await runChecks(machine({ programs: { bwrap: null, socat: null } }), VERSION);
  assert.equal(byId(noBwrap.checks, "sandbox").status, "warn");
  assert.equal(byId(noBwrap.checks, "socat").status, "info");
  assert.equal(noBwrap.ok, true);
  const p = machine({ programs: { bwrap: null } });
  p.env = { ...p.env, DISPATCH_SANDBOX: "1" };
  const wanted = await runChecks(p, VERSION);
  assert.equal(byId(wanted.checks, "sandbox").status, "fail");
  assert.match(byId(wanted.checks, "sandbox").fix!, /apt-get install bubblewrap/);
  assert.equal(wanted.ok, false);
  // bwrap present but namespaces refused (the probe run fails).
  const q = machine();
  q.runProgram = (bin, args) =>
    Promise.resolve(
      bin.endsWith("bwrap") && args.includes("--unshare-pid")
        ? { ok: false, output: "bwrap: No permissions to creating new namespace" }
        : { ok: true, output: "bubblewrap 0.8.0\n2.1.328" },
    );
  const ns = byId((await runChecks(q, VERSION)).checks, "sandbox");
  assert.equal(ns.status, "warn");
  assert.match(ns.summary, /cannot create its namespaces here: bwrap: No permissions/);
  assert.match(ns.fix!, /unprivileged_userns/);
  const mac = await runChecks(machine({ os: "darwin" }), VERSION);
  assert.equal(byId(mac.checks, "sandbox").status, "info");
});

Deno.test("doctor: the index is reported as absent, present, or unreadable, never required", async () => {
  const dirs = new Set(["/home/me/dispatch-projects", "/home/me/dispatch-projects/.dispatch-index"]);
  const kind = (p: string) => Promise.resolve(dirs.has(p) ? "directory" as const : "missing" as const);
  const present = await runChecks(
    machine({
      kind,
      listFolder: () => Promise.resolve([{ name: "list-v3.json", size: 10, readable: true }]),
    }),
    VERSION,
  );
  assert.equal(byId(present.checks, "index").status, "ok");
  assert.equal(byId(present.checks, "index").details.entries, 1);
  const unreadable = await runChecks(
    machine({
      kind,
      listFolder: () => Promise.resolve([{ name: "list-v3.json", size: 10, readable: false }]),
    }),
    VERSION,
  );
  assert.equal(byId(unreadable.checks, "index").status, "warn");
  assert.match(byId(unreadable.checks, "index").fix!, /rm -rf .*\.dispatch-index/);
  assert.equal(unreadable.ok, true);
  const absent = await runChecks(machine(), VERSION);
  assert.equal(byId(absent.checks, "index").status, "info");
});

Deno.test("doctor helpers: versions, mounts, risky file systems", () => {
  assert.equal(firstVersion("2.1.328 (Claude Code)"), "2.1.328");
  assert.equal(firstVersion("codex-cli 0.171.0"), "0.171.0");
  assert.equal(firstVersion("bubblewrap 0.8.0"), "0.8.0");
  assert.equal(firstVersion("no version"), null);
  assert.ok(compareVersions("2.1.9", "2.1.328") < 0);
  assert.ok(compareVersions("10.0.0", "9.9.9") > 0);
  assert.equal(compareVersions("0.61.0", "0.61"), 0);
  const mounts =
    "overlay / overlay rw 0 0\nsrv:/h /home nfs4 rw 0 0\n/dev/sdb1 /home/me/local\\040disk ext4 rw 0 0\n";
  assert.deepEqual(mountOf(mounts, "/home/me/x"), { type: "nfs4", mountPoint: "/home" });
  assert.deepEqual(mountOf(mounts, "/home/me/local disk/p"), {
    type: "ext4",
    mountPoint: "/home/me/local disk",
  });
  assert.deepEqual(mountOf(mounts, "/homeless"), { type: "overlay", mountPoint: "/" });
  assert.ok(fileSystemRisk("nfs4"));
  assert.ok(fileSystemRisk("cifs"));
  assert.ok(fileSystemRisk("fuse.sshfs"));
  assert.equal(fileSystemRisk("ext4"), null);
  assert.equal(fileSystemRisk("overlay"), null);
});

Deno.test("doctor's tested Claude Code version is the one the tests pin", () => {
  assert.equal(TESTED_VERSIONS.claude, CLAUDE_CODE_VERSION);
});

// --- the real command ---

async function fakeProgram(dir: string, name: string, versionLine: string): Promise<string> {
  const path = join(dir, name);
  await Deno.writeTextFile(path, `#!/bin/sh\necho '${versionLine}'\n`);
  await Deno.chmod(path, 0o755);
  return path;
}

Deno.test("doctor (CLI): the pinned Claude Code and a writable folder: exit 0, one JSON document, nothing left behind", async () => {
  const t = await tempDir();
  try {
    const claude = await ensureClaudeCli();
    const projects = join(t.path, "projects");
    await Deno.mkdir(join(projects, ".dispatch-index"), { recursive: true });
    await Deno.writeTextFile(join(projects, ".dispatch-index", "list-v3.json"), "{}");
    const bin = join(t.path, "bin");
    await Deno.mkdir(bin);
    const codex = await fakeProgram(bin, "codex", "codex-cli 0.170.0");
    const env = {
      PATH: "/usr/bin:/bin",
      HOME: t.path,
      DENO_DIR,
      DISPATCH_PROJECTS_DIR: projects,
      DISPATCH_CC_BIN: claude,
      DISPATCH_CODEX_BIN: codex,
      ANTHROPIC_API_KEY: "sk-test-not-shown",
    };
    const r = await runCli(["doctor", "--json"], { env });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.json.version, 1);
    assert.equal(r.json.ok, true);
    assert.equal(r.json.exit_code, 0);
    const c = (id: string) => r.json.checks.find((x: Check) => x.id === id);
    assert.equal(c("claude").status, "ok");
    assert.equal(c("claude").details.version, CLAUDE_CODE_VERSION);
    assert.equal(c("codex").status, "warn");
    assert.match(c("codex").summary, /0\.170\.0.*older than the version tested \(0\.171\.0\)/);
    assert.equal(c("projects_dir").status, "ok");
    assert.equal(c("index").status, "ok");
    assert.equal(c("index").details.entries, 1);
    assert.ok(!r.stdout.includes("sk-test-not-shown"), "a credential's value is never printed");
    assert.deepEqual(
      [...Deno.readDirSync(projects)].map((e) => e.name),
      [".dispatch-index"],
      "no probe file left",
    );

    const text = await runCli(["doctor"], { env });
    assert.equal(text.code, 0);
    assert.match(text.stdout, /^ok +claude +Claude Code 2\.1\.328 at .* \(the version tested\)$/m);
    assert.match(text.stdout, /^warn +codex .*\n +fix: update it: npm install -g @openai\/codex@0\.171\.0$/m);
    assert.match(text.stdout, /Everything a default run needs is here/);
  } finally {
    await t.cleanup();
  }
});

Deno.test("doctor (CLI): no Claude Code, a folder it may not write, a bad setting: exit 1, each named with its fix", async () => {
  const t = await tempDir();
  try {
    const env = {
      PATH: "/usr/bin:/bin",
      HOME: t.path,
      DENO_DIR,
      // Under /usr: dispatch-cc's own permission set refuses writes there, even as root.
      DISPATCH_PROJECTS_DIR: "/usr/share/dispatch-cc-doctor-test/projects",
      DISPATCH_TIMEOUT: "soon",
    };
    const r = await runCli(["doctor", "--json"], { env });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.json.ok, false);
    const failed = r.json.checks.filter((c: Check) => c.status === "fail").map((c: Check) => c.id);
    assert.deepEqual(failed, ["claude", "projects_dir", "settings"]);
    const text = await runCli(["doctor"], { env });
    assert.equal(text.code, 1);
    assert.match(
      text.stdout,
      /^FAIL +claude .*\n +fix: npm install -g @anthropic-ai\/claude-code@2\.1\.328/m,
    );
    assert.match(text.stdout, /Missing for a default run: claude, projects_dir, settings/);
    // A command that uses the setting refuses it (doctor is the one that explains it); one that does not
    // use it is not stopped by it (issue 13 item 10).
    const list = await runCli(["list"], { env });
    assert.equal(list.code, 0, list.stderr);
    const run = await runCli(["run", "--slug", "x", "--prompt", "p"], { env });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /DISPATCH_TIMEOUT/);
  } finally {
    await t.cleanup();
  }
});

Deno.test("doctor: a git older than merge needs (merge-tree --write-tree, 2.38) is a warning; git is optional", async () => {
  const old = await runChecks(machine({ programs: { git: "git version 2.34.1" } }), VERSION);
  assert.equal(old.ok, true);
  assert.equal(byId(old.checks, "git").status, "warn");
  assert.match(byId(old.checks, "git").summary, /2\.34\.1.*older than 2\.38/);
  assert.equal(byId((await runChecks(machine(), VERSION)).checks, "git").status, "ok");
});
