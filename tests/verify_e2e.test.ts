/**
 * Verification rounds end to end (issue 16 part 2): the real Claude Code CLI against the scripted
 * endpoint, a check that fails, the endpoint acting on the quoted output in the next round.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "./support/cli.ts";
import { startE2E, until } from "./support/e2e.ts";

const readJson = async (p: string) => JSON.parse(await Deno.readTextFile(p));

Deno.test("a failed check resumes the session with its output quoted; the endpoint fixes it; success", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("fixit", [
      { text: "Done, I think." },
      // Round 2: the endpoint acts on the feedback (see the assertion on its request below).
      { toolUse: { name: "Write", input: { file_path: "fixed.txt", content: "ok\n" } } },
      { text: "Created fixed.txt." },
    ]);
    const check =
      "test -f fixed.txt || { echo 'MISSING fixed.txt (code 4711)'; echo 'see ```docs```' >&2; exit 3; }";
    const r = await runCli(
      ["run", "--slug", "vf", "--prompt", "Make it [[mock:fixit]]", "--verify", check, "--json"],
      { env: e.env },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.status, "success");
    assert.deepEqual(
      { ...r.json.verify, output_tail: undefined },
      { command: check, passed: true, attempts: 2, exit_code: 0, output_tail: undefined },
    );
    // The feedback prompt names the command and exit code and quotes the output verbatim in a fence
    // longer than any backtick run in it.
    const round2 = e.api.mainRequests("fixit").find((q) => q.step === 1)!;
    const last = round2.body.messages.at(-1);
    const text = typeof last.content === "string"
      ? last.content
      : last.content.map((b: { text?: string }) => b.text ?? "").join("\n");
    assert.ok(text.includes(`\`${check}\` exited with code 3`), text);
    assert.ok(text.includes("````\nMISSING fixed.txt (code 4711)\nsee ```docs```\n````"), text);
    // Two rounds, each a run of its own in the history; cost, turns and tokens add up.
    assert.equal(r.json.rounds.length, 2);
    assert.equal(r.json.rounds[0].check.exit_code, 3);
    assert.equal(r.json.rounds[1].check.passed, true);
    assert.equal(r.json.rounds[1].session_id, r.json.rounds[0].session_id, "the same session");
    const costs = r.json.rounds.map((x: { cost_usd: number }) => x.cost_usd);
    assert.ok(costs.every((c: number) => c > 0));
    assert.ok(Math.abs(r.json.cost_usd - (costs[0] + costs[1])) < 1e-9);
    assert.equal(r.json.num_turns, r.json.rounds[0].num_turns + r.json.rounds[1].num_turns);
    assert.equal(
      r.json.usage.output_tokens,
      r.json.rounds[0].usage.output_tokens + r.json.rounds[1].usage.output_tokens,
    );
    const h = await runCli(["history", "--slug", "vf", "--json"], { env: e.env });
    assert.equal(h.code, 0, h.stderr);
    const runs = h.json.runs ?? h.json.entries ?? h.json;
    assert.deepEqual(
      runs.map((x: { run_id: string }) => x.run_id),
      r.json.rounds.map((x: { run_id: string }) => x.run_id),
    );
    // Each round counts its own cost, with the run index or without it (rebuilt from the records).
    const own = (xs: { cost_usd: number }[]) => xs.map((x) => x.cost_usd);
    assert.deepEqual(own(runs), costs);
    await Deno.remove(join(e.projects, "vf", ".dispatch-logs", "runs.jsonl"));
    const rebuilt = await runCli(["history", "--slug", "vf", "--json"], { env: e.env });
    assert.deepEqual(own(rebuilt.json.runs ?? rebuilt.json.entries ?? rebuilt.json), costs);
    // The first round's own record keeps its check; the log keeps the whole output.
    const first = await readJson(
      join(e.projects, "vf", ".dispatch-logs", `${r.json.rounds[0].run_id}-run.json`),
    );
    assert.equal(first.verification.exit_code, 3);
    assert.match(await Deno.readTextFile(first.verification.log_file), /MISSING fixed\.txt/);
    assert.equal((await readJson(r.json.record_file)).verify.passed, true);
  } finally {
    await e.cleanup();
  }
});

Deno.test("a check that never passes: verify_failed, exit 8, after the extra rounds asked for", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("stuck", [{ text: "Tried." }, { text: "Tried again." }, { text: "Tried once more." }]);
    const r = await runCli(
      [
        "run",
        "--slug",
        "stuck",
        "--prompt",
        "Do [[mock:stuck]]",
        "--verify",
        "echo still broken; exit 5",
        "--verify-retries",
        "2",
        "--json",
      ],
      { env: e.env },
    );
    assert.equal(r.code, 8, r.stderr);
    assert.equal(r.json.status, "verify_failed");
    assert.equal(r.json.exit_code, 8);
    assert.match(r.json.error, /exited with code 5/);
    assert.deepEqual(r.json.verify, {
      command: "echo still broken; exit 5",
      passed: false,
      attempts: 3,
      exit_code: 5,
      output_tail: "still broken",
    });
    assert.equal(r.json.rounds.length, 3);
    assert.equal(e.api.mainRequests("stuck").length, 3);
    const s = await runCli(["status", "--slug", "stuck", "--json"], { env: e.env });
    assert.equal(s.code, 0, s.stderr);
    assert.match(JSON.stringify(s.json), /verify_failed/);
  } finally {
    await e.cleanup();
  }
});

Deno.test("the check runs in the OS sandbox like the run: it cannot write outside the project", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("sbx", [{ text: "Done." }]);
    const outside = join(e.root, "outside.txt");
    const r = await runCli(
      [
        "run",
        "--slug",
        "sbx",
        "--prompt",
        "Do [[mock:sbx]]",
        "--sandbox",
        "--verify",
        `touch inside.txt; echo "SECRET=$SECRET_TOKEN"; touch ${outside}; exit 4`,
        "--verify-retries",
        "0",
        "--json",
      ],
      { env: { ...e.env, SECRET_TOKEN: "s3cr3t" } },
    );
    if (r.code === 127) return; // no bubblewrap here
    assert.equal(r.code, 8, r.stderr);
    assert.equal(await Deno.stat(join(e.projects, "sbx", "inside.txt")).then(() => true, () => false), true);
    assert.equal(await Deno.stat(outside).then(() => true, () => false), false, "no write outside");
    assert.match(r.json.verify.output_tail, /^SECRET=$/m, "the environment allow-list holds");
    assert.doesNotMatch(r.json.verify.output_tail, /s3cr3t/);
  } finally {
    await e.cleanup();
  }
});

Deno.test("a detached verified run: wait returns the whole outcome; logs and history show each round", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("dv", [
      { text: "First try." },
      { toolUse: { name: "Write", input: { file_path: "ok.txt", content: "ok\n" } } },
      { text: "Fixed." },
    ]);
    const check = "test -f ok.txt || { echo no ok.txt; exit 1; }";
    const r = await runCli(
      ["run", "--slug", "dv", "--prompt", "Go [[mock:dv]]", "--verify", check, "--detach", "--json"],
      { env: e.env },
    );
    assert.equal(r.code, 0, r.stderr);
    const w = await runCli(["wait", "--slug", "dv", "--json"], { env: e.env });
    assert.equal(w.code, 0, w.stderr);
    assert.equal(w.json.status, "success");
    assert.equal(w.json.verify.attempts, 2);
    assert.equal(w.json.rounds[0].run_id, r.json.run_id, "the first round is the run the front end returned");
    const logs = await runCli(["logs", "--slug", "dv"], { env: e.env });
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /== check 2: .*: passed/);
    assert.match(logs.stdout, /== verification: passed after 2 check\(s\) in 2 round\(s\)/);
    const first = await runCli(["logs", "--slug", "dv", "--run", r.json.run_id], { env: e.env });
    assert.match(first.stdout, /== check 1: .*: failed \(exit 1\)/);
    const h = await runCli(["history", "--slug", "dv", "--json"], { env: e.env });
    const runs = h.json.runs ?? h.json.entries;
    assert.deepEqual(runs.map((x: { command: string }) => x.command), ["run", "resume"]);
    assert.deepEqual(runs.map((x: { status: string }) => x.status), ["success", "success"]);
  } finally {
    await e.cleanup();
  }
});

Deno.test("cancel during a check stops it and its processes: the run is cancelled (130)", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("cv", [{ text: "Done." }]);
    const r = await runCli(
      [
        "run",
        "--slug",
        "cv",
        "--prompt",
        "Go [[mock:cv]]",
        "--verify",
        "echo $$ > started; sleep 300; echo never",
        "--detach",
        "--json",
      ],
      { env: e.env },
    );
    assert.equal(r.code, 0, r.stderr);
    const started = join(e.projects, "cv", "started");
    assert.ok(
      await until(() => Deno.stat(started).then((s) => s.size > 0, () => false), 60_000),
      "the check began",
    );
    const pid = Number((await Deno.readTextFile(started)).trim());
    const c = await runCli(["cancel", "--slug", "cv", "--json"], { env: e.env });
    assert.equal(c.code, 0, c.stdout + c.stderr);
    const w = await runCli(["wait", "--slug", "cv", "--json"], { env: e.env });
    assert.equal(w.code, 130, w.stdout + w.stderr);
    assert.equal(w.json.status, "cancelled");
    assert.match(w.json.error, /during verification/);
    assert.equal(await Deno.stat(`/proc/${pid}`).then(() => true, () => false), false, "the check is gone");
  } finally {
    await e.cleanup();
  }
});
