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
