/**
 * Projects in existing repositories (issue 17), end to end: real git repositories, the real Claude Code
 * CLI against the scripted endpoint, dispatch-cc started as users start it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "./support/cli.ts";
import { startE2E } from "./support/e2e.ts";
import { gitIn, headOf, makeRepo, statusOf } from "./support/git_repo.ts";

const readJson = async (p: string) => JSON.parse(await Deno.readTextFile(p));
const exists = (p: string) => Deno.lstat(p).then(() => true, () => false);

Deno.test("run --repo works in a new worktree on dispatch/SLUG; the user's checkout is untouched; changes, diff, merge, remove", async () => {
  const e = await startE2E();
  try {
    const repo = await makeRepo(join(e.root, "repo"));
    const userHead = await headOf(repo);
    e.api.scenario("edit", [
      { toolUse: { name: "Write", input: { file_path: "feature.py", content: "def f():\n    return 1\n" } } },
      {
        toolUse: {
          name: "Bash",
          input: { command: "printf \"print('v2')\\n\" > app.py && rm README.md", description: "edit" },
        },
      },
      { text: "Done." },
    ]);
    const r = await runCli(
      ["run", "--slug", "feat", "--repo", repo, "--prompt", "Add a feature [[mock:edit]]", "--json"],
      { env: e.env },
    );
    assert.equal(r.code, 0, r.stderr);
    const dir = join(e.projects, "feat");
    assert.equal(r.json.project_dir, dir);
    // The worktree: on its own branch, from the repository's HEAD.
    assert.equal((await gitIn(dir, "symbolic-ref", "HEAD")).trim(), "refs/heads/dispatch/feat");
    assert.equal(await headOf(repo, "dispatch/feat"), userHead);
    // The user's checkout: same branch, same commit, clean, no new file.
    assert.equal((await gitIn(repo, "symbolic-ref", "HEAD")).trim(), "refs/heads/main");
    assert.equal(await headOf(repo), userHead);
    assert.equal(await statusOf(repo), "");
    assert.equal(await exists(join(repo, "feature.py")), false);
    // project.json: additive fields.
    const meta = await readJson(join(dir, ".dispatch-logs", "project.json"));
    assert.equal(meta.repo, await Deno.realPath(repo));
    assert.equal(meta.base, userHead);
    assert.equal(meta.branch, "dispatch/feat");
    assert.equal(meta.slug, "feat");
    // No CLAUDE.md of ours in a repository; nothing of dispatch-cc's shows as a change.
    assert.equal(await exists(join(dir, "CLAUDE.md")), false);
    assert.deepEqual(
      (await statusOf(dir)).split("\n").filter((l) => l).sort(),
      [" D README.md", " M app.py", "?? feature.py"],
    );
    // What this run changed.
    assert.deepEqual(r.json.changes, {
      files: [
        { path: "README.md", status: "deleted", insertions: 0, deletions: 1 },
        { path: "app.py", status: "modified", insertions: 1, deletions: 1 },
        { path: "feature.py", status: "added", insertions: 2, deletions: 0 },
      ],
      insertions: 3,
      deletions: 2,
    });

    // diff --json: the same entries; the text is git's unified diff.
    const d = await runCli(["diff", "--slug", "feat", "--json"], { env: e.env });
    assert.equal(d.code, 0, d.stderr);
    assert.equal(d.json.branch, "dispatch/feat");
    assert.equal(d.json.base, userHead);
    assert.deepEqual(d.json.files, r.json.changes.files);
    const text = await runCli(["diff", "--slug", "feat"], { env: e.env });
    assert.match(text.stdout, /^diff --git a\/README.md b\/README.md/m);
    assert.match(text.stdout, /^\+def f\(\):$/m);
    assert.doesNotMatch(text.stdout, /dispatch-logs/);
    const stat = await runCli(["diff", "--slug", "feat", "--stat"], { env: e.env });
    assert.match(stat.stdout, /3 files changed, 3 insertions\(\+\), 2 deletions\(-\)/);

    // status and list show repo and branch.
    const st = await runCli(["status", "--slug", "feat", "--json"], { env: e.env });
    assert.equal(st.json.branch, "dispatch/feat");
    assert.equal(st.json.repo, meta.repo);
    const stText = await runCli(["status", "--slug", "feat"], { env: e.env });
    assert.match(stText.stdout, /Repository: .*repo \(branch dispatch\/feat\)/);
    const ls = await runCli(["list", "--json"], { env: e.env });
    assert.equal(ls.json.projects[0].branch, "dispatch/feat");
    const lsText = await runCli(["list"], { env: e.env });
    assert.match(lsText.stdout, /dispatch\/feat/);

    // merge: commits the worktree's changes with the user's identity, fast-forwards main.
    const m = await runCli(["merge", "--slug", "feat", "--message", "Feature f", "--json"], { env: e.env });
    assert.equal(m.code, 0, m.stderr);
    assert.equal(m.json.merge, "fast-forward");
    assert.equal(m.json.into, "main");
    assert.equal(await headOf(repo), m.json.commit);
    assert.equal(m.json.committed, m.json.commit);
    assert.equal(await statusOf(repo), "");
    assert.equal(await Deno.readTextFile(join(repo, "app.py")), "print('v2')\n");
    assert.equal(await exists(join(repo, "README.md")), false);
    assert.equal(
      (await gitIn(repo, "log", "-1", "--format=%an <%ae>|%s")).trim(),
      "Test User <test@example.com>|Feature f",
    );
    assert.equal(
      (await gitIn(repo, "ls-tree", "-r", "--name-only", "HEAD")).includes(".dispatch-logs"),
      false,
    );
    assert.equal(await statusOf(dir), "", "the worktree is clean after its changes were committed");

    // remove: merged, so the worktree and the branch go.
    const rm = await runCli(["remove", "--slug", "feat", "--json"], { env: e.env });
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal(rm.json.branch_deleted, true);
    assert.equal(await exists(dir), false);
    assert.equal((await gitIn(repo, "branch", "--list", "dispatch/*")).trim(), "");
    assert.equal((await gitIn(repo, "worktree", "list")).trim().split("\n").length, 1);
  } finally {
    await e.cleanup();
  }
});

/** Everything a failed `run --repo` could have created: project folders, branches, worktrees. */
async function footprint(e: { projects: string }, repo: string) {
  const projects = await Array.fromAsync(Deno.readDir(e.projects)).then(
    (l) => l.map((x) => x.name).sort(),
    () => [],
  );
  return {
    projects,
    branches: (await gitIn(repo, "branch", "--list", "--format=%(refname)")).trim(),
    worktrees: (await gitIn(repo, "worktree", "list", "--porcelain")).trim(),
    status: await statusOf(repo),
    head: await headOf(repo),
  };
}

Deno.test("run --repo with bad input is a usage error (2) and creates nothing", async () => {
  const e = await startE2E();
  try {
    const repo = await makeRepo(join(e.root, "repo"));
    await Deno.mkdir(e.projects, { recursive: true });
    const plain = join(e.root, "plain");
    await Deno.mkdir(plain);
    const empty = await makeRepo(join(e.root, "empty"), null);
    await gitIn(e.root, "init", "-q", "--bare", "bare.git");
    // A branch dispatch/taken checked out in a worktree of the user's own; dispatch/left with none.
    await gitIn(repo, "worktree", "add", "-q", "-b", "dispatch/taken", join(e.root, "own-wt"));
    await gitIn(repo, "branch", "dispatch/left");
    const before = await footprint(e, repo);
    const cases: [string[], RegExp][] = [
      [["--repo", plain], /is not a git repository/],
      [["--repo", join(e.root, "missing")], /no such folder/],
      [["--repo", join(e.root, "bare.git")], /bare repository/],
      [["--repo", empty], /has no commit yet/],
      [["--repo", repo, "--base", "no-such-ref"], /--base no-such-ref: no such commit/],
      [["--repo", repo, "--base", "--upload-pack=x"], /not a git revision/],
      [["--base", "main"], /--base needs --repo/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(["run", "--slug", "x", ...args, "--prompt", "p", "--json"], { env: e.env });
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.json.error.message, message);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
    const taken = await runCli(["run", "--slug", "taken", "--repo", repo, "--prompt", "p"], { env: e.env });
    assert.equal(taken.code, 2);
    assert.match(taken.stderr, /branch dispatch\/taken already exists .* checked out in .*own-wt/);
    const left = await runCli(["run", "--slug", "left", "--repo", repo, "--prompt", "p"], { env: e.env });
    assert.equal(left.code, 2);
    assert.match(left.stderr, /branch dispatch\/left already exists/);
    const badName = await runCli(["run", "--slug", "x.lock", "--repo", repo, "--prompt", "p"], {
      env: e.env,
    });
    assert.equal(badName.code, 2);
    assert.match(badName.stderr, /cannot name a git branch/);
    assert.deepEqual(await footprint(e, repo), before);
    // A projects folder inside the repository would show its worktrees in the user's checkout.
    const inside = await runCli(["run", "--slug", "in", "--repo", repo, "--prompt", "p"], {
      env: { ...e.env, DISPATCH_PROJECTS_DIR: join(repo, "projects") },
    });
    assert.equal(inside.code, 2);
    assert.match(inside.stderr, /is inside the repository/);
    assert.equal(await exists(join(repo, "projects")), false);
    assert.deepEqual(await footprint(e, repo), before);
    // --dry-run checks the repository too, and creates nothing either.
    const dry = await runCli(["run", "--slug", "ok", "--repo", repo, "--prompt", "p", "--dry-run"], {
      env: e.env,
    });
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(await footprint(e, repo), before);
  } finally {
    await e.cleanup();
  }
});

/** A repository project `slug` whose run wrote `files` (through the Write tool). */
async function projectWith(
  e: Awaited<ReturnType<typeof startE2E>>,
  repo: string,
  slug: string,
  files: Record<string, string>,
  extra: string[] = [],
) {
  e.api.scenario(`w-${slug}`, [
    ...Object.entries(files).map(([file_path, content]) => ({
      toolUse: { name: "Write", input: { file_path, content } },
    })),
    { text: "Written." },
  ]);
  const r = await runCli(
    ["run", "--slug", slug, "--repo", repo, ...extra, "--prompt", `Write [[mock:w-${slug}]]`, "--json"],
    { env: e.env },
  );
  assert.equal(r.code, 0, r.stderr);
  return r;
}

Deno.test("merge is refused with nothing changed: a dirty checkout, a conflict, an untracked file in the way (9); no identity (2)", async () => {
  const e = await startE2E();
  try {
    const repo = await makeRepo(join(e.root, "repo"));
    await projectWith(e, repo, "m", { "app.py": "print('theirs')\n", "new.txt": "new\n" });
    const wt = join(e.projects, "m");
    const tip = await headOf(repo, "dispatch/m");
    const snapshot = async () => ({
      head: await headOf(repo),
      tip: await headOf(repo, "dispatch/m"),
      status: await statusOf(repo),
      wt: await statusOf(wt),
    });

    // 1. The user's checkout has a modified tracked file.
    await Deno.writeTextFile(join(repo, "README.md"), "# mine, not committed\n");
    let before = await snapshot();
    let r = await runCli(["merge", "--slug", "m", "--json"], { env: e.env });
    assert.equal(r.code, 9, r.stderr);
    assert.equal(r.json.error.kind, "dirty_checkout");
    assert.deepEqual(r.json.error.files, ["README.md"]);
    assert.match(r.stderr, /uncommitted changes to README\.md/);
    assert.deepEqual(await snapshot(), before);
    await gitIn(repo, "checkout", "--", "README.md");

    // 2. An untracked file where the merge would add one.
    await Deno.writeTextFile(join(repo, "new.txt"), "my own\n");
    before = await snapshot();
    r = await runCli(["merge", "--slug", "m", "--json"], { env: e.env });
    assert.equal(r.code, 9, r.stderr);
    assert.equal(r.json.error.kind, "would_overwrite");
    assert.deepEqual(r.json.error.files, ["new.txt"]);
    assert.deepEqual(await snapshot(), before);
    assert.equal(await Deno.readTextFile(join(repo, "new.txt")), "my own\n");
    await Deno.remove(join(repo, "new.txt"));
    // Other untracked files are fine (checked at the end).
    await Deno.writeTextFile(join(repo, "notes.txt"), "untracked, unrelated\n");

    // 3. main moved on and changed the same line: a conflict.
    await Deno.writeTextFile(join(repo, "app.py"), "print('ours')\n");
    await gitIn(repo, "commit", "-qam", "ours");
    before = await snapshot();
    r = await runCli(["merge", "--slug", "m", "--json"], { env: e.env });
    assert.equal(r.code, 9, r.stderr);
    assert.equal(r.json.error.kind, "merge_conflict");
    assert.deepEqual(r.json.error.files, ["app.py"]);
    assert.match(r.stderr, /would conflict in app\.py/);
    assert.deepEqual(await snapshot(), before);
    assert.equal(await headOf(repo, "dispatch/m"), tip, "the branch got no commit either");

    // 4. No identity: HOME has no git config and the repository none either.
    await gitIn(repo, "reset", "-q", "--hard", "HEAD~1");
    await gitIn(repo, "config", "--unset", "user.name");
    await gitIn(repo, "config", "--unset", "user.email");
    before = await snapshot();
    r = await runCli(["merge", "--slug", "m", "--json"], { env: e.env });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.json.error.message, /no git identity.*user\.name/);
    assert.deepEqual(await snapshot(), before);

    // With an identity (from the environment here) the same merge goes through.
    r = await runCli(["merge", "--slug", "m", "--json"], {
      env: {
        ...e.env,
        GIT_AUTHOR_NAME: "Env User",
        GIT_AUTHOR_EMAIL: "env@example.com",
        GIT_COMMITTER_NAME: "Env User",
        GIT_COMMITTER_EMAIL: "env@example.com",
      },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.merge, "fast-forward");
    assert.equal(await Deno.readTextFile(join(repo, "notes.txt")), "untracked, unrelated\n");
    assert.equal((await gitIn(repo, "log", "-1", "--format=%an")).trim(), "Env User");
  } finally {
    await e.cleanup();
  }
});

Deno.test("merge makes a merge commit when the checkout's branch moved on without conflict; merging again is up to date", async () => {
  const e = await startE2E();
  try {
    const repo = await makeRepo(join(e.root, "repo"));
    await projectWith(e, repo, "mc", { "feature.txt": "feature\n" });
    await Deno.writeTextFile(join(repo, "other.txt"), "main's own work\n");
    await gitIn(repo, "add", "other.txt");
    await gitIn(repo, "commit", "-qm", "main moves on");
    const ours = await headOf(repo);
    const r = await runCli(["merge", "--slug", "mc", "--json"], { env: e.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.merge, "merge-commit");
    assert.deepEqual(r.json.files.map((f: { path: string }) => f.path), ["feature.txt"]);
    const parents = (await gitIn(repo, "log", "-1", "--format=%P")).trim().split(" ");
    assert.deepEqual(parents, [ours, r.json.committed]);
    assert.equal(await statusOf(repo), "");
    assert.equal(await Deno.readTextFile(join(repo, "feature.txt")), "feature\n");
    const again = await runCli(["merge", "--slug", "mc", "--json"], { env: e.env });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.json.merge, "up-to-date");
    assert.equal(again.json.committed, null);
  } finally {
    await e.cleanup();
  }
});

Deno.test("two runs on one repository at once (one detached) stay apart: each worktree and each run's changes hold only its own work", async () => {
  const e = await startE2E();
  try {
    const repo = await makeRepo(join(e.root, "repo"));
    const script = (name: string) => [
      { toolUse: { name: "Write", input: { file_path: `${name}.txt`, content: `${name}\n` } } },
      // Slow enough that both runs are under way at once.
      { toolUse: { name: "Bash", input: { command: `sleep 1; echo ${name} >> app.py`, description: "x" } } },
      { text: `${name} done.` },
    ];
    e.api.scenario("pa", script("a"));
    e.api.scenario("pb", script("b"));
    // Both started at once: their worktrees are created concurrently too.
    const args = (slug: string, mock: string, extra: string[]) => [
      "run",
      "--slug",
      slug,
      "--repo",
      repo,
      "--prompt",
      `go [[mock:${mock}]]`,
      "--allowed-tools",
      "Bash",
      ...extra,
      "--json",
    ];
    const [detached, b] = await Promise.all([
      runCli(args("pa", "pa", ["--detach"]), { env: e.env }),
      runCli(args("pb", "pb", []), { env: e.env }),
    ]);
    assert.equal(detached.code, 0, detached.stderr);
    assert.equal(b.code, 0, b.stderr);
    const a = await runCli(["wait", "--slug", "pa", "--json"], { env: e.env });
    assert.equal(a.code, 0, a.stderr);
    // wait --json shows the detached run's changes as its record holds them.
    assert.deepEqual(a.json.changes, (await readJson(detached.json.record_file)).changes);
    for (
      const [slug, other, changes] of [["pa", "b", a.json.changes], ["pb", "a", b.json.changes]] as const
    ) {
      const name = slug.slice(1);
      const dir = join(e.projects, slug);
      assert.equal(await Deno.readTextFile(join(dir, `${name}.txt`)), `${name}\n`);
      assert.equal(await Deno.readTextFile(join(dir, "app.py")), `print('v1')\n${name}\n`);
      assert.equal(await exists(join(dir, `${other}.txt`)), false);
      assert.deepEqual(changes.files.map((f: { path: string }) => f.path), [`${name}.txt`, "app.py"].sort());
    }
    assert.equal(await statusOf(repo), "");
    assert.deepEqual(
      (await gitIn(repo, "branch", "--list", "dispatch/*", "--format=%(refname:short)")).trim().split("\n"),
      ["dispatch/pa", "dispatch/pb"],
    );
  } finally {
    await e.cleanup();
  }
});

const noBwrap =
  (await new Deno.Command("sh", { args: ["-c", "command -v bwrap"], stdout: "null" }).output()).code !== 0;

Deno.test({
  name:
    "under --sandbox the specialist commits on its branch, but cannot plant a hook, change the config, or move other branches",
  ignore: noBwrap,
  async fn() {
    const e = await startE2E();
    try {
      const repo = await makeRepo(join(e.root, "repo"));
      await gitIn(repo, "branch", "dispatch/other");
      const common = join(await Deno.realPath(repo), ".git");
      const configBefore = await Deno.readTextFile(join(common, "config"));
      const main = await headOf(repo);
      const bash = (command: string) => ({ toolUse: { name: "Bash", input: { command, description: "x" } } });
      e.api.scenario("hook", [
        bash(
          `printf '#!/bin/sh\\ntouch ${e.root}/pwned\\n' > ${common}/hooks/post-merge; chmod +x ${common}/hooks/post-merge`,
        ),
        bash("git config core.hooksPath /tmp/evil-hooks"),
        bash(`printf 'gitdir: ${e.root}/fake\\n' > .git`),
        bash(`echo ${e.root}/fake > "$(git rev-parse --git-dir)/commondir"`),
        bash(
          "git update-ref refs/heads/main HEAD~0^{tree} 2>&1; git update-ref refs/heads/dispatch/other HEAD~0",
        ),
        bash(`rm -rf ${common}/objects/?? 2>&1; ls ${common}/objects | wc -l`),
        bash(
          "echo inside > inside.txt && git add inside.txt && git commit -qm 'inside the sandbox' && git log -1 --format=%s",
        ),
        { text: "Tried." },
      ]);
      const r = await runCli(
        [
          "run",
          "--slug",
          "s",
          "--repo",
          repo,
          "--prompt",
          "Try [[mock:hook]]",
          "--sandbox",
          "--allowed-tools",
          "Bash",
          "--json",
        ],
        { env: e.env },
      );
      assert.equal(r.json?.num_turns, 8, r.stderr + JSON.stringify(r.json));
      // Nothing of the repository's own changed.
      assert.equal(await exists(join(common, "hooks", "post-merge")), false);
      assert.equal(await Deno.readTextFile(join(common, "config")), configBefore);
      assert.equal(await headOf(repo), main);
      assert.equal(await headOf(repo, "dispatch/other"), main);
      assert.match(
        await Deno.readTextFile(join(e.projects, "s", ".git")),
        /^gitdir: .*\.git\/worktrees\/s\n$/,
      );
      assert.equal((await Deno.readTextFile(join(common, "worktrees", "s", "commondir"))).trim(), "../..");
      assert.equal(await statusOf(repo), "");
      // The repository's objects are all there (none deleted or replaced) and hold the run's commit too.
      await gitIn(repo, "fsck", "--no-dangling", "--strict");
      assert.deepEqual([...Deno.readDirSync(join(common, "worktrees", "s", "dispatch-objects"))], []);
      // The commit on the project's branch worked.
      assert.equal(
        (await gitIn(repo, "log", "-1", "--format=%s|%P", "dispatch/s")).trim(),
        `inside the sandbox|${main}`,
      );
      assert.deepEqual(r.json.changes.files, [{
        path: "inside.txt",
        status: "added",
        insertions: 1,
        deletions: 0,
      }]);
      // No placeholder of the sandbox's is left in the worktree as a change.
      assert.equal(await statusOf(join(e.projects, "s")), "");
      // A merge in the user's checkout runs no hook of the specialist's.
      const m = await runCli(["merge", "--slug", "s", "--json"], { env: e.env });
      assert.equal(m.code, 0, m.stderr);
      assert.equal(await exists(join(e.root, "pwned")), false);
    } finally {
      await e.cleanup();
    }
  },
});

Deno.test("remove: refused for an unmerged branch or uncommitted work unless --force, and while the lock is held (5); plain projects go whole", async () => {
  const e = await startE2E();
  try {
    const repo = await makeRepo(join(e.root, "repo"));
    await projectWith(e, repo, "r", { "work.txt": "work\n" });
    const dir = join(e.projects, "r");
    // Uncommitted work in the worktree.
    let r = await runCli(["remove", "--slug", "r", "--json"], { env: e.env });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.json.error.message, /changes not committed on dispatch\/r \(work\.txt\)/);
    assert.ok(await exists(join(dir, "work.txt")));
    // Committed on the branch but not merged anywhere.
    await gitIn(dir, "add", "work.txt");
    await gitIn(dir, "commit", "-qm", "work");
    r = await runCli(["remove", "--slug", "r", "--json"], { env: e.env });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.json.error.message, /not merged into any branch/);
    assert.ok(await exists(dir));
    // While a run holds the lock.
    await Deno.writeTextFile(
      join(dir, ".dispatch-logs", "lock"),
      JSON.stringify({
        pid: Deno.pid,
        host: Deno.hostname(),
        started: new Date().toISOString(),
        command: "run",
        run_id: "",
        token: "t",
      }),
    );
    r = await runCli(["remove", "--slug", "r", "--force", "--json"], { env: e.env });
    assert.equal(r.code, 5, r.stderr);
    assert.ok(await exists(dir));
    await Deno.remove(join(dir, ".dispatch-logs", "lock"));
    // --force: worktree and branch go; the user's checkout is as it was.
    r = await runCli(["remove", "--slug", "r", "--force", "--json"], { env: e.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.branch_deleted, true);
    assert.equal(await exists(dir), false);
    assert.equal((await gitIn(repo, "branch", "--list", "dispatch/r")).trim(), "");
    assert.equal(await statusOf(repo), "");
    // A project with no commits of its own and no changes goes without --force.
    e.api.scenario("noop", [{ text: "Nothing to do." }]);
    const noop = await runCli(
      ["run", "--slug", "n", "--repo", repo, "--prompt", "x [[mock:noop]]", "--json"],
      {
        env: e.env,
      },
    );
    assert.equal(noop.code, 0, noop.stderr);
    assert.deepEqual(noop.json.changes, { files: [], insertions: 0, deletions: 0 });
    r = await runCli(["remove", "--slug", "n", "--json"], { env: e.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.branch_reason, "no commits of its own");
    // A plain project: the folder goes.
    const plain = await runCli(["run", "--slug", "plain", "--prompt", "x [[mock:noop]]", "--json"], {
      env: e.env,
    });
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.json.changes, undefined);
    r = await runCli(["remove", "--slug", "plain", "--json"], { env: e.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await exists(join(e.projects, "plain")), false);
    // Not a project, a missing one, a symlink: refused, nothing removed.
    await Deno.mkdir(join(e.projects, "stranger"));
    await Deno.writeTextFile(join(e.projects, "stranger", "keep.txt"), "keep\n");
    r = await runCli(["remove", "--slug", "stranger"], { env: e.env });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /not a dispatch-cc project/);
    assert.ok(await exists(join(e.projects, "stranger", "keep.txt")));
    await Deno.symlink(join(e.projects, "stranger"), join(e.projects, "link"));
    r = await runCli(["remove", "--slug", "link"], { env: e.env });
    assert.equal(r.code, 2);
    assert.ok(await exists(join(e.projects, "stranger", "keep.txt")));
    r = await runCli(["remove", "--slug", "nope"], { env: e.env });
    assert.equal(r.code, 3);
    // diff and merge of a plain or missing project.
    r = await runCli(["diff", "--slug", "nope"], { env: e.env });
    assert.equal(r.code, 3);
    await runCli(["run", "--slug", "plain2", "--prompt", "x [[mock:noop]]"], { env: e.env });
    r = await runCli(["merge", "--slug", "plain2"], { env: e.env });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /not in a repository/);
  } finally {
    await e.cleanup();
  }
});

Deno.test("resume and review work in a repository project unchanged; each run's changes are its own", async () => {
  const e = await startE2E();
  try {
    const repo = await makeRepo(join(e.root, "repo"));
    await projectWith(e, repo, "rr", { "one.txt": "1\n" });
    e.api.scenario("more", [
      { toolUse: { name: "Write", input: { file_path: "one.txt", content: "1\n2\n" } } },
      { toolUse: { name: "Write", input: { file_path: "two.txt", content: "2\n" } } },
      { text: "More." },
    ]);
    const r = await runCli(["resume", "--slug", "rr", "--prompt", "more [[mock:more]]", "--json"], {
      env: e.env,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.session_mode, "resume");
    assert.deepEqual(r.json.changes.files, [
      { path: "one.txt", status: "modified", insertions: 1, deletions: 0 },
      { path: "two.txt", status: "added", insertions: 1, deletions: 0 },
    ]);
    e.api.scenario("rev", [{ text: "Looks fine." }]);
    const rev = await runCli(["review", "--slug", "rr", "--prompt", "review [[mock:rev]]", "--json"], {
      env: e.env,
    });
    assert.equal(rev.code, 0, rev.stderr);
    assert.deepEqual(rev.json.changes.files, []);
    const text = await runCli(["run", "--slug", "rr", "--repo", repo, "--prompt", "again [[mock:rev]]"], {
      env: e.env,
    });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /Changes: 0 files changed/);
    // `run --repo` on the project with another repository is refused.
    const other = await makeRepo(join(e.root, "other"));
    const wrong = await runCli(["run", "--slug", "rr", "--repo", other, "--prompt", "x"], { env: e.env });
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /is a worktree of .*repo, not of .*other/);
    const hist = await runCli(["history", "--slug", "rr", "--json"], { env: e.env });
    assert.equal(hist.code, 0, hist.stderr);
  } finally {
    await e.cleanup();
  }
});

Deno.test("a task file's repo: (relative to the file) and base: make the project a worktree; apply runs in it", async () => {
  const e = await startE2E();
  try {
    const repo = await makeRepo(join(e.root, "repo"));
    const first = await headOf(repo);
    await Deno.writeTextFile(join(repo, "later.txt"), "later\n");
    await gitIn(repo, "add", "later.txt");
    await gitIn(repo, "commit", "-qm", "later");
    e.api.scenario("task", [
      { toolUse: { name: "Write", input: { file_path: "from-task.txt", content: "t\n" } } },
      { text: "Task done." },
    ]);
    await Deno.mkdir(join(e.root, "tasks"));
    const file = join(e.root, "tasks", "t.yaml");
    await Deno.writeTextFile(
      file,
      `slug: fromfile\nrepo: ../repo\nbase: ${first}\nprompt: "Do it [[mock:task]]"\n`,
    );
    // The repository is outside the task file's folder: the caller allows it (tests/attack_e2e.test.ts).
    const r = await runCli(["apply", file, "--allow-path", repo, "--json"], { env: e.env });
    assert.equal(r.code, 0, r.stderr);
    const dir = join(e.projects, "fromfile");
    assert.equal(await headOf(dir), first);
    assert.equal(await exists(join(dir, "later.txt")), false);
    assert.equal(await Deno.readTextFile(join(dir, "from-task.txt")), "t\n");
    const rec = await readJson(join(dir, ".dispatch-logs", "project.json"));
    assert.equal(rec.base, first);
    assert.equal(rec.base_ref, first);
    const d = await runCli(["diff", "--slug", "fromfile", "--json"], { env: e.env });
    assert.deepEqual(d.json.files.map((f: { path: string }) => f.path), ["from-task.txt"]);
    // base: without repo: is refused before anything runs.
    await Deno.writeTextFile(file, `slug: nobase\nbase: main\nprompt: "x"\n`);
    const bad = await runCli(["apply", file], { env: e.env });
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /base needs repo/);
    assert.equal(await exists(join(e.projects, "nobase")), false);
  } finally {
    await e.cleanup();
  }
});

Deno.test("two runs of one new slug with --repo at once: one runs, the other is refused as lock held (5)", async () => {
  const e = await startE2E();
  try {
    const repo = await makeRepo(join(e.root, "repo"));
    e.api.scenario("same", [{ text: "Slow.", delayMs: 3000 }]);
    const go = () =>
      runCli(["run", "--slug", "same", "--repo", repo, "--prompt", "x [[mock:same]]", "--json"], {
        env: e.env,
      });
    const codes = (await Promise.all([go(), go()])).map((r) => r.code).sort();
    assert.deepEqual(codes, [0, 5]);
    assert.equal((await gitIn(repo, "worktree", "list")).trim().split("\n").length, 2);
  } finally {
    await e.cleanup();
  }
});
