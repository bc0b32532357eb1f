/** src/git without Claude Code: parsing, project.json checks, snapshots in real repositories, sandbox binds. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { changesBetween, parseChanges, snapshotTree } from "../src/git/changes.ts";
import { gitEnv } from "../src/git/exec.ts";
import { ensureRepoProject, type RepoProject, repoProjectOf } from "../src/git/repo.ts";
import { gitSandboxBinds } from "../src/git/sandbox.ts";
import { bwrapArgs } from "../src/sandbox/bwrap.ts";
import { claudeCodeState } from "../src/agents/claude_code/sandbox_state.ts";
import { projectPaths } from "../src/store/project.ts";
import { gitIn, makeRepo } from "./support/git_repo.ts";

Deno.test("parseChanges joins name-status and numstat, binary files without counts, odd paths whole", () => {
  const names = "M\0app.py\0A\0img.png\0D\0old name\twith tab.txt\0";
  const counts = "3\t1\tapp.py\0-\t-\timg.png\0" + "0\t2\told name\twith tab.txt\0";
  assert.deepEqual(parseChanges(names, counts), {
    files: [
      { path: "app.py", status: "modified", insertions: 3, deletions: 1 },
      { path: "img.png", status: "added", insertions: 0, deletions: 0, binary: true },
      { path: "old name\twith tab.txt", status: "deleted", insertions: 0, deletions: 2 },
    ],
    insertions: 3,
    deletions: 3,
  });
  assert.deepEqual(parseChanges("", ""), { files: [], insertions: 0, deletions: 0 });
});

Deno.test("gitEnv drops what would point git at another repository or index, keeps identity", () => {
  const env = gitEnv({
    PATH: "/bin",
    GIT_DIR: "/x",
    GIT_INDEX_FILE: "/i",
    GIT_AUTHOR_NAME: "Me",
    HOME: "/h",
  });
  assert.equal(env.GIT_DIR, undefined);
  assert.equal(env.GIT_INDEX_FILE, undefined);
  assert.equal(env.GIT_AUTHOR_NAME, "Me");
  assert.equal(env.GIT_TERMINAL_PROMPT, "0");
});

Deno.test("repoProjectOf trusts project.json only when its fields fit the slug and each other", () => {
  const paths = projectPaths("/p", "s");
  const good = {
    slug: "s",
    description: "",
    created: "",
    updated: "",
    repo: "/r",
    base: "a".repeat(40),
    branch: "dispatch/s",
    git_dir: "/r/.git/worktrees/s",
    git_common_dir: "/r/.git",
  };
  assert.equal(repoProjectOf(paths, good)?.gitDir, "/r/.git/worktrees/s");
  assert.equal(repoProjectOf(paths, { ...good, branch: "main" }), null);
  assert.equal(repoProjectOf(paths, { ...good, git_dir: "/elsewhere/.git" }), null);
  assert.equal(repoProjectOf(paths, { ...good, repo: "r" }), null);
  assert.equal(repoProjectOf(paths, { ...good, base: "HEAD" }), null);
  assert.equal(repoProjectOf(paths, { ...good, repo: undefined }), null);
});

async function withRepoProject(fn: (p: RepoProject, root: string) => Promise<void>) {
  const root = await Deno.makeTempDir({ prefix: "dispatch-git-unit-" });
  try {
    const repo = await makeRepo(join(root, "repo"));
    const paths = projectPaths(join(root, "projects"), "u");
    const p = await ensureRepoProject(paths, {
      repo,
      cwd: root,
      now: new Date(),
      warn: () => {},
    }) as RepoProject;
    await fn(p, root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("a snapshot holds untracked files, leaves out ignored ones and .dispatch-logs, and touches no index", async () => {
  await withRepoProject(async (p) => {
    const logs = join(p.worktree, ".dispatch-logs");
    const index = join(p.gitDir, "index");
    const indexBefore = await Deno.readFile(index);
    const before = await snapshotTree(p, logs);
    await Deno.writeTextFile(join(p.worktree, ".gitignore"), "build/\n");
    await Deno.mkdir(join(p.worktree, "build"));
    await Deno.writeTextFile(join(p.worktree, "build", "out.bin"), "x");
    await Deno.writeTextFile(join(p.worktree, "new.txt"), "a\nb\n");
    await Deno.writeTextFile(join(logs, "extra.json"), "{}");
    const after = await snapshotTree(p, logs);
    const c = await changesBetween(p, before, after);
    assert.deepEqual(c.files.map((f) => f.path), [".gitignore", "new.txt"]);
    assert.deepEqual(await Deno.readFile(index), indexBefore);
    assert.equal(await gitIn(p.worktree, "status", "--porcelain"), "?? .gitignore\n?? new.txt\n");
  });
});

Deno.test("dispatch-cc's git calls on a worktree ignore a rewritten .git file (no config of the specialist's runs)", async () => {
  await withRepoProject(async (p, root) => {
    const fake = join(root, "fake");
    await Deno.mkdir(fake);
    await gitIn(fake, "init", "-q", "--bare");
    await gitIn(fake, "config", "core.fsmonitor", `touch ${join(root, "pwned")}; false`);
    await Deno.writeTextFile(join(p.worktree, ".git"), `gitdir: ${fake}\n`);
    await Deno.writeTextFile(join(p.worktree, "x.txt"), "x\n");
    const c = await changesBetween(p, p.base, await snapshotTree(p, join(p.worktree, ".dispatch-logs")));
    assert.deepEqual(c.files.map((f) => f.path), ["x.txt"]);
    assert.equal(await Deno.lstat(join(root, "pwned")).then(() => true, () => false), false);
  });
});

Deno.test("the sandbox binds: .git read-only first, then the writable parts, then the pointer files read-only again; objects read-only", async () => {
  await withRepoProject(async (p) => {
    await gitIn(p.repo, "branch", "dispatch/other");
    const binds = await gitSandboxBinds(p);
    assert.ok(binds.writable.includes(p.gitDir));
    assert.ok(binds.readOnly.includes(join(p.commonDir, "refs", "heads", "dispatch", "other")));
    assert.ok(!binds.readOnly.includes(join(p.commonDir, "refs", "heads", "dispatch", "u")));
    const args = bwrapArgs({
      projectDir: p.worktree,
      logsDir: join(p.worktree, ".dispatch-logs"),
      claudeBin: "/usr/bin/true",
      state: claudeCodeState({ HOME: "/root" }, p.worktree, []),
      rootDir: join(p.worktree, "..", "run-root"),
      network: true,
      extraReadOnly: binds.readOnly,
      extraWritable: binds.writable,
    });
    const at = (kind: string, path: string) => {
      for (let i = 0; i < args.length - 2; i++) if (args[i] === kind && args[i + 2] === path) return i;
      return -1;
    };
    const common = at("--ro-bind-try", p.commonDir);
    const gitDir = at("--bind", p.gitDir);
    const commondir = at("--ro-bind-try", join(p.gitDir, "commondir"));
    const objects = at("--bind", join(p.commonDir, "objects"));
    assert.ok(common >= 0 && gitDir > common && commondir > gitDir, args.join(" "));
    // The repository's objects stay read-only: the run writes its own store, moved in afterwards.
    assert.equal(objects, -1);
    assert.equal(binds.env.GIT_OBJECT_DIRECTORY, join(p.gitDir, "dispatch-objects"));
    assert.equal(binds.env.GIT_ALTERNATE_OBJECT_DIRECTORIES, join(p.commonDir, "objects"));
    assert.ok(at("--ro-bind-try", join(p.worktree, ".git")) > at("--bind", p.worktree));
  });
});

Deno.test("checkGit reports git's version and whether merge can work with it", async () => {
  const g = await (await import("../src/git/exec.ts")).checkGit();
  assert.equal(g.ok, true, g.message);
  assert.match(g.version ?? "", /^\d+\.\d+/);
});

Deno.test("objects a sandboxed run wrote to its own store are moved into the repository by content, never replacing one", async () => {
  const { adoptPrivateObjects, privateObjects } = await import("../src/git/objects.ts");
  await withRepoProject(async (p) => {
    const store = privateObjects(p);
    await Deno.mkdir(store, { recursive: true });
    const env = { GIT_DIR: p.gitDir, GIT_OBJECT_DIRECTORY: store, GIT_CONFIG_NOSYSTEM: "1", HOME: p.repo };
    const hash = async (text: string) => {
      const c = new Deno.Command("git", {
        args: ["hash-object", "-w", "--stdin"],
        env,
        stdin: "piped",
        stdout: "piped",
      })
        .spawn();
      const w = c.stdin.getWriter();
      await w.write(new TextEncoder().encode(text));
      await w.close();
      return new TextDecoder().decode((await c.output()).stdout).trim();
    };
    const id = await hash("made in the sandbox\n");
    assert.equal(await gitIn(p.repo, "cat-file", "-e", id).then(() => true, () => false), false);
    assert.equal(await adoptPrivateObjects(p), 1);
    assert.equal(await gitIn(p.repo, "cat-file", "-p", id), "made in the sandbox\n");
    assert.deepEqual([...Deno.readDirSync(store)], []);
    // Alternates planted in the private store are not followed.
    await Deno.mkdir(join(store, "info"), { recursive: true });
    await Deno.writeTextFile(join(store, "info", "alternates"), join(p.commonDir, "objects") + "\n");
    assert.equal(await adoptPrivateObjects(p), 0);
    await gitIn(p.repo, "fsck", "--no-dangling");
  });
});
