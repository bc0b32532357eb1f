/**
 * `apply --detach` end to end: the real Claude Code CLI against the scripted endpoint. One background
 * supervisor runs the whole apply; `wait` and `cancel` work per slug.
 */
import assert from "node:assert/strict";
import { hostname } from "node:os";
import { join } from "node:path";
import { runCli } from "./support/cli.ts";
import { type E2E, processesMatching, startE2E, until } from "./support/e2e.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const readJson = async (p: string): Promise<Json> => JSON.parse(await Deno.readTextFile(p));
const exists = (p: string) => Deno.stat(p).then(() => true, () => false);
const logs = (e: E2E, slug: string) => join(e.projects, slug, ".dispatch-logs");
const state = (e: E2E, slug: string) => readJson(join(logs(e, slug), "apply-state.json"));

async function write(e: E2E, name: string, text: string): Promise<string> {
  const path = join(e.root, name);
  await Deno.writeTextFile(path, text);
  return path;
}

/** Is the process alive (and not a zombie)? */
async function alive(pid: number): Promise<boolean> {
  const out = await new Deno.Command("ps", { args: ["-o", "stat=", "-p", String(pid)], stdout: "piped" })
    .output();
  const stat = new TextDecoder().decode(out.stdout).trim();
  return stat !== "" && !stat.startsWith("Z");
}

Deno.test("apply --detach returns at once; wait --slug reports each slug's last step; apply-state shows every step done", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("d2", [{ text: "two", delayMs: 1500 }]);
    e.api.scenario("d3", [{ text: "Third step finished." }]);
    const file = await write(
      e,
      "d.yaml",
      `slug: dd
prompt: First step
follow_ups:
  - Second step [[mock:d2]]
  - Third step [[mock:d3]]
---
slug: de
prompt: Other slug
`,
    );
    const t0 = Date.now();
    const d = await runCli(["apply", file, "--parallel", "2", "--detach", "--json"], { env: e.env });
    const took = Date.now() - t0;
    assert.equal(d.code, 0, d.stderr);
    // Returned while the steps are still to come (order, not time: the speed is in `deno task bench`).
    assert.equal(e.api.mainRequests("d3").length, 0, `returned before the last step ran (${took} ms)`);
    assert.equal(d.json.version, 1);
    assert.equal(d.json.status, "started");
    assert.equal(d.json.command, "apply");
    assert.deepEqual(d.json.slugs.map((s: Json) => [s.slug, s.first_step, s.steps]), [["dd", 1, 3], [
      "de",
      1,
      1,
    ]]);
    assert.equal(d.json.next.wait, "dispatch-cc wait --slug dd; dispatch-cc wait --slug de");
    assert.equal(d.json.slugs[0].next.cancel, "dispatch-cc cancel --slug dd");
    // Both locks are held by the one supervisor before the front end returns.
    for (const slug of ["dd", "de"]) {
      const lock = await readJson(join(logs(e, slug), "lock"));
      assert.equal(lock.pid, d.json.supervisor_pid);
      assert.equal(lock.command, "apply");
    }

    const w = await runCli(["wait", "--slug", "dd", "--json"], { env: e.env });
    assert.equal(w.code, 0, w.stderr);
    assert.equal(w.json.status, "success");
    assert.equal(w.json.result, "Third step finished.");
    assert.equal(w.json.command, "apply");
    assert.equal(w.json.detached, true);
    assert.ok(Date.now() - t0 > 1500, "wait waited for the delayed step");
    const st = await state(e, "dd");
    assert.deepEqual(st.steps.map((s: Json) => [s.step, s.kind, s.status]), [
      [1, "prompt", "success"],
      [2, "follow_up", "success"],
      [3, "follow_up", "success"],
    ]);
    assert.equal(w.json.run_id, st.steps[2].run_id, "the last step's record");
    assert.equal(st.steps[0].run_id, d.json.slugs[0].run_id, "the first step used the reserved run");
    assert.ok(st.steps.every((s: Json) => s.session_id === st.steps[0].session_id));
    const other = await runCli(["wait", "--slug", "de", "--json"], { env: e.env });
    assert.equal(other.code, 0, other.stderr);
    assert.equal((await state(e, "de")).steps[0].status, "success");
    assert.equal(await exists(join(logs(e, "dd"), "lock")), false);
    assert.ok(await until(async () => !(await alive(d.json.supervisor_pid)), 5000), "the supervisor ended");

    // Everything done: nothing starts in the background; the summary is printed as without --detach.
    const again = await runCli(["apply", file, "--detach", "--json"], { env: e.env });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.json.status, undefined);
    assert.ok(again.json.tasks.flatMap((t: Json) => t.steps).every((s: Json) => s.skipped === true));
  } finally {
    await e.cleanup();
  }
});

Deno.test("cancel --slug stops a detached apply mid-step, leaves no process, records the step cancelled; re-apply continues there", async () => {
  const e = await startE2E();
  try {
    const tag = `sleep ${7000 + Math.floor(Math.random() * 900)}`;
    e.api.scenario("c1", [{ text: "one" }]);
    e.api.scenario("c2", [
      {
        toolUse: {
          name: "Bash",
          input: { command: `(setsid ${tag} > /dev/null 2>&1 &) ; sleep 60`, description: "work" },
        },
      },
      { text: "never reached" },
    ]);
    e.api.scenario("c3", [{ text: "three" }]);
    const file = await write(
      e,
      "c.yaml",
      `slug: cx
allowed_tools: [Bash]
prompt: First step [[mock:c1]]
follow_ups:
  - Second step [[mock:c2]]
  - Third step [[mock:c3]]
`,
    );
    const d = await runCli(["apply", file, "--detach", "--json"], { env: e.env });
    assert.equal(d.code, 0, d.stderr);
    assert.ok(
      await until(async () => (await processesMatching(tag)).length > 0, 20_000),
      "step 2's tool started",
    );
    const t0 = Date.now();
    const c = await runCli(["cancel", "--slug", "cx", "--json"], { env: e.env });
    const took = Date.now() - t0;
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.json.cancelled, true);
    assert.equal(c.json.forced, false, "the supervisor stopped the step itself");
    assert.equal(c.json.record.status, "cancelled");
    assert.equal(c.json.record.exit_code, 130);
    assert.ok(took < 10_000, `cancel took ${took} ms`);
    assert.deepEqual(await processesMatching(tag), [], "no process of the step is left");
    assert.ok(await until(async () => !(await alive(d.json.supervisor_pid)), 5000), "the supervisor ended");
    assert.equal(await exists(join(logs(e, "cx"), "lock")), false);
    assert.equal(await exists(join(logs(e, "cx"), "cancel-request")), false);
    const st = await state(e, "cx");
    assert.deepEqual(st.steps.map((s: Json) => [s.step, s.status]), [[1, "success"], [2, "cancelled"]]);
    assert.equal(st.steps[1].run_id, c.json.run_id);
    const w = await runCli(["wait", "--slug", "cx", "--json"], { env: e.env });
    assert.equal(w.code, 130);
    assert.equal(w.json.status, "cancelled");

    e.api.scenario("c2", [{ text: "two" }]);
    const again = await runCli(["apply", file, "--json"], { env: e.env });
    assert.equal(again.code, 0, again.stderr);
    const s = again.json.tasks[0].steps;
    assert.deepEqual(s.map((x: Json) => [x.status, x.skipped ?? false]), [
      ["success", true],
      ["success", false],
      ["success", false],
    ]);
    assert.equal(s[1].session_id, st.steps[0].session_id, "the same session continues");
  } finally {
    await e.cleanup();
  }
});

Deno.test("apply --detach refuses at once: a held lock on any slug (exit 5, nothing starts), invalid files (exit 2)", async () => {
  const e = await startE2E();
  try {
    const file = await write(e, "h.yaml", "slug: a-free\nprompt: A\n---\nslug: b-busy\nprompt: B\n");
    await Deno.mkdir(logs(e, "b-busy"), { recursive: true });
    // Held by a live process on this host: this test.
    await Deno.writeTextFile(
      join(logs(e, "b-busy"), "lock"),
      JSON.stringify({
        pid: Deno.pid,
        host: hostname(),
        started: new Date().toISOString(),
        command: "run",
        run_id: "",
        token: crypto.randomUUID(),
      }),
    );
    const r = await runCli(["apply", file, "--detach", "--json"], { env: e.env });
    assert.equal(r.code, 5, r.stderr);
    assert.equal(r.json.status, "failed");
    assert.match(r.json.error.message, /project is locked/);
    assert.equal(await exists(join(logs(e, "a-free"), "lock")), false, "the lock it took is released");
    assert.deepEqual(
      [...Deno.readDirSync(logs(e, "a-free"))].map((f) => f.name),
      [],
      "no run reserved, no request left",
    );

    const bad = await write(e, "bad.yaml", "slug: a-free\npromt: A\n");
    const v = await runCli(["apply", bad, "--detach", "--json"], { env: e.env });
    assert.equal(v.code, 2);
    assert.equal(v.json.ok, false);
    assert.equal(e.api.requests.length, 0, "nothing ran");

    // A reserved record left "starting" with no lock (its supervisor died) shows as abandoned.
    await Deno.writeTextFile(
      join(logs(e, "a-free"), "20250101-000000-1-run.json"),
      JSON.stringify({ version: 1, run_id: "20250101-000000-1", command: "apply", status: "starting" }),
    );
    const s = await runCli(["status", "--slug", "a-free", "--json"], { env: e.env });
    assert.equal(s.json.last_run.status, "abandoned", s.stdout);
  } finally {
    await e.cleanup();
  }
});
