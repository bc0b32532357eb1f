/**
 * Completion hooks end to end (issue 16 part 3): the real Claude Code CLI against the scripted endpoint.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "./support/cli.ts";
import { startE2E, until } from "./support/e2e.ts";

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);
/** A hook that keeps its stdin and the DISPATCH_ variables it got in `dir`. */
const keeper = (dir: string) => `cat > ${dir}/doc.json; env | grep '^DISPATCH_' | sort > ${dir}/env.txt`;

Deno.test("--on-done gets the run's JSON on stdin and its facts in the environment", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("hk", [{ text: "Hooked." }]);
    const r = await runCli(
      ["run", "--slug", "hk", "--prompt", "Go [[mock:hk]]", "--on-done", keeper(e.root), "--json"],
      { env: e.env },
    );
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(await Deno.readTextFile(join(e.root, "doc.json")));
    assert.equal(doc.run_id, r.json.run_id);
    assert.equal(doc.status, "success");
    assert.equal(doc.result, "Hooked.");
    const env = await Deno.readTextFile(join(e.root, "env.txt"));
    assert.match(env, /^DISPATCH_SLUG=hk$/m);
    assert.match(env, new RegExp(`^DISPATCH_RUN_ID=${r.json.run_id}$`, "m"));
    assert.match(env, /^DISPATCH_STATUS=success$/m);
    assert.match(env, /^DISPATCH_EXIT_CODE=0$/m);
    assert.match(env, new RegExp(`^DISPATCH_PROJECT_DIR=${join(e.projects, "hk")}$`, "m"));
    assert.equal(r.json.on_done.ok, true);
  } finally {
    await e.cleanup();
  }
});

Deno.test("a failing or slow hook is a warning in the record; the outcome and exit code stay", async () => {
  const e = await startE2E({ DISPATCH_ON_DONE_TIMEOUT: "1" });
  try {
    e.api.scenario("bad", [{ text: "Fine." }]);
    e.api.scenario("err", [{ httpError: { status: 400 } }]);
    const failing = await runCli(
      [
        "run",
        "--slug",
        "bad",
        "--prompt",
        "Go [[mock:bad]]",
        "--on-done",
        "echo webhook down >&2; exit 3",
        "--json",
      ],
      { env: e.env },
    );
    assert.equal(failing.code, 0, failing.stderr);
    assert.equal(failing.json.status, "success");
    assert.equal(failing.json.on_done.ok, false);
    assert.equal(failing.json.on_done.exit_code, 3);
    assert.ok(
      failing.json.warnings.some((w: string) => /on-done hook exited with code 3: webhook down/.test(w)),
    );
    assert.match(failing.stderr, /on-done hook exited with code 3/);
    const record = JSON.parse(await Deno.readTextFile(failing.json.record_file));
    assert.equal(record.on_done.ok, false);

    // DISPATCH_ON_DONE, a hook that hangs (stopped after DISPATCH_ON_DONE_TIMEOUT), a failed run.
    const slow = await runCli(
      ["run", "--slug", "err", "--prompt", "Go [[mock:err]]", "--json"],
      { env: { ...e.env, DISPATCH_ON_DONE: `echo $DISPATCH_STATUS > ${e.root}/seen; sleep 30` } },
    );
    assert.equal(slow.code, 1, slow.stderr);
    assert.equal(slow.json.status, "error");
    assert.match(slow.json.on_done.error, /did not finish in 1 s/);
    assert.equal((await Deno.readTextFile(join(e.root, "seen"))).trim(), "error");
  } finally {
    await e.cleanup();
  }
});

Deno.test("a detached run runs its hook when it ends", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("det", [{ text: "Detached and done." }]);
    const r = await runCli(
      [
        "run",
        "--slug",
        "det",
        "--prompt",
        "Go [[mock:det]]",
        "--detach",
        "--on-done",
        keeper(e.root),
        "--json",
      ],
      { env: e.env },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.status, "started");
    const w = await runCli(["wait", "--slug", "det", "--json"], { env: e.env });
    assert.equal(w.code, 0, w.stderr);
    assert.ok(await until(() => exists(join(e.root, "env.txt")), 30_000), "the hook ran");
    const doc = JSON.parse(await Deno.readTextFile(join(e.root, "doc.json")));
    assert.equal(doc.run_id, r.json.run_id);
    assert.equal(doc.detached, true);
    assert.equal(doc.result, "Detached and done.");
    assert.match(await Deno.readTextFile(join(e.root, "env.txt")), /^DISPATCH_STATUS=success$/m);
  } finally {
    await e.cleanup();
  }
});
