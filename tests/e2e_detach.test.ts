/**
 * Long runs without blocking the caller, end to end with the real Claude Code CLI against the scripted
 * endpoint: --detach, wait, logs --follow, cancel, history, progress, result limits.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cliCommand, collect, REPO, runCli, spawnCli } from "./support/cli.ts";
import { processesMatching, startE2E, until } from "./support/e2e.ts";

const readJson = async (p: string) => JSON.parse(await Deno.readTextFile(p));
const exists = (p: string) => Deno.stat(p).then(() => true, () => false);
/** Is the process alive (and not a zombie)? */
async function alive(pid: number): Promise<boolean> {
  const out = await new Deno.Command("ps", { args: ["-o", "stat=", "-p", String(pid)], stdout: "piped" })
    .output();
  const stat = new TextDecoder().decode(out.stdout).trim();
  return stat !== "" && !stat.startsWith("Z");
}

Deno.test("--detach returns at once with the run id and files; the run goes on; wait reports its success", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("bg", [
      { toolUse: { name: "Write", input: { file_path: "out.txt", content: "done\n" } } },
      { text: "Wrote out.txt.", delayMs: 2500 },
    ]);
    const t0 = Date.now();
    const d = await runCli(
      ["run", "--slug", "bg", "--prompt", "Write it [[mock:bg]]", "--detach", "--json"],
      { env: e.env },
    );
    const took = Date.now() - t0;
    assert.equal(d.code, 0, d.stderr);
    // Returned before the run's last answer (delayed 2.5 s) came: order, not time (speed: `deno task bench`).
    const atReturn = JSON.parse(
      await Deno.readTextFile(join(e.projects, "bg", ".dispatch-logs", `${d.json.run_id}-run.json`)),
    );
    assert.ok(
      ["starting", "running"].includes(atReturn.status),
      `returned while the run goes on (${took} ms)`,
    );
    assert.equal(d.json.status, "started");
    assert.match(d.json.run_id, /^\d{8}-\d{6}-\d+$/);
    assert.equal(d.json.slug, "bg");
    assert.ok(d.json.record_file.endsWith(`${d.json.run_id}-run.json`));
    assert.ok(d.json.transcript_file.endsWith(`${d.json.run_id}-events.jsonl`));
    assert.ok(d.json.result_file.endsWith(`${d.json.run_id}-result.json`));
    // The record exists before the front end returns, naming the supervisor.
    const rec = await readJson(d.json.record_file);
    assert.ok(["starting", "running"].includes(rec.status));
    assert.equal(rec.pid, d.json.supervisor_pid);
    assert.equal(rec.detached, true);
    // The lock is held for the run: a second dispatch is refused at once.
    const second = await runCli([
      "run",
      "--slug",
      "bg",
      "--prompt",
      "again [[mock:bg]]",
      "--detach",
      "--json",
    ], {
      env: e.env,
    });
    assert.equal(second.code, 5, second.stderr);
    // wait blocks until the end and prints what run would have printed.
    const w = await runCli(["wait", "--slug", "bg", "--json"], { env: e.env });
    assert.equal(w.code, 0, w.stderr);
    assert.equal(w.json.status, "success");
    assert.equal(w.json.run_id, d.json.run_id);
    assert.equal(w.json.result, "Wrote out.txt.");
    assert.equal(w.json.detached, true);
    assert.equal(w.json.result_truncated, false);
    assert.ok(Date.now() - t0 > 2500, "wait waited for the delayed answer");
    assert.equal(await Deno.readTextFile(join(e.projects, "bg", "out.txt")), "done\n");
    assert.equal(await exists(join(e.projects, "bg", ".dispatch-logs", "lock")), false);
    assert.equal(
      await exists(d.json.record_file.replace("-run.json", "-request.json")),
      false,
      "request file removed",
    );
    // wait again: the last run, at once.
    const again = await runCli(["wait", "--slug", "bg"], { env: e.env });
    assert.equal(again.code, 0);
    assert.match(again.stdout, /^SUCCESS: run bg/);
  } finally {
    await e.cleanup();
  }
});

Deno.test("logs --follow shows tool calls as they happen and ends with the run", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("f", [
      { toolUse: { name: "Bash", input: { command: "echo step-one", description: "first" } } },
      { toolUse: { name: "Write", input: { file_path: "notes.md", content: "x" } }, delayMs: 1500 },
      { text: "Finished the work.", delayMs: 1500 },
    ]);
    const d = await runCli(
      ["run", "--slug", "f", "--prompt", "Go [[mock:f]]", "--allowed-tools", "Bash", "--detach", "--json"],
      { env: e.env },
    );
    assert.equal(d.code, 0, d.stderr);
    const child = spawnCli(["logs", "--slug", "f", "--follow"], { env: e.env });
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    let sawBashWhileRunning = false;
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += value;
      if (!sawBashWhileRunning && seen.includes("-> Bash echo step-one")) {
        sawBashWhileRunning = (await readJson(d.json.record_file)).status === "running";
      }
    }
    const status = await child.status;
    assert.equal(status.code, 0);
    assert.ok(sawBashWhileRunning, `the Bash call was shown while the run went on:\n${seen}`);
    assert.match(seen, /-> Write .*notes\.md/);
    assert.match(seen, /== result: SUCCESS \(3 turns/);
    assert.match(seen, /Finished the work\./);
    assert.match(seen, /== run .* ended: success/);
    // --json passes the events through, one per line.
    const j = await runCli(["logs", "--slug", "f", "--json"], { env: e.env });
    const events = j.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(events[0].type, "system");
    assert.equal(events.at(-1).type, "result");
    await child.stderr.cancel();
  } finally {
    await e.cleanup();
  }
});

Deno.test("cancel ends a detached run and everything it started, records it cancelled, and the session resumes", async () => {
  const e = await startE2E();
  try {
    const tag = `sleep ${6000 + Math.floor(Math.random() * 900)}`;
    e.api.scenario("c", [
      {
        toolUse: {
          name: "Bash",
          input: { command: `(setsid ${tag} > /dev/null 2>&1 &) ; sleep 60`, description: "work" },
        },
      },
      { text: "never reached" },
    ]);
    e.api.scenario("after", [{ text: "Resumed after cancel." }]);
    const nothing = await runCli(["cancel", "--slug", "c", "--json"], { env: e.env });
    assert.equal(nothing.code, 3, "no such project");
    const d = await runCli(
      ["run", "--slug", "c", "--prompt", "Work [[mock:c]]", "--allowed-tools", "Bash", "--detach", "--json"],
      { env: e.env },
    );
    assert.equal(d.code, 0, d.stderr);
    assert.ok(
      await until(async () => (await processesMatching(tag)).length > 0, 15_000),
      "the tool process started",
    );
    const t0 = Date.now();
    const c = await runCli(["cancel", "--slug", "c", "--json"], { env: e.env });
    const took = Date.now() - t0;
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.json.cancelled, true);
    assert.equal(c.json.forced, false, "the supervisor stopped on its own");
    assert.equal(c.json.run_id, d.json.run_id);
    assert.equal(c.json.record.status, "cancelled");
    assert.equal(c.json.record.exit_code, 130);
    assert.ok(took < 10_000, `cancel took ${took} ms`);
    assert.deepEqual(await processesMatching(tag), [], "no process of the run is left");
    assert.equal(await exists(join(e.projects, "c", ".dispatch-logs", "lock")), false);
    assert.equal(await exists(join(e.projects, "c", ".dispatch-logs", "cancel-request")), false);
    const w = await runCli(["wait", "--slug", "c", "--json"], { env: e.env });
    assert.equal(w.code, 130);
    assert.equal(w.json.status, "cancelled");
    // Nothing running now: a no-op that says so.
    const again = await runCli(["cancel", "--slug", "c", "--json"], { env: e.env });
    assert.equal(again.code, 0);
    assert.equal(again.json.cancelled, false);
    assert.match(again.json.reason, /nothing is running/);
    const r = await runCli(["resume", "--slug", "c", "--prompt", "Continue [[mock:after]]", "--json"], {
      env: e.env,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.session_id, c.json.record.session_id);
    assert.equal(r.json.session_mode, "resume");
  } finally {
    await e.cleanup();
  }
});

Deno.test("the caller's shell and process group going away does not end a detached run", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("sh", [{ text: "Survived.", delayMs: 2500 }]);
    const c = cliCommand();
    const line = [
      c.cmd,
      ...c.args,
      "run",
      "--slug",
      "sh",
      "--prompt",
      "'Go [[mock:sh]]'",
      "--detach",
      "--json",
    ]
      .join(" ");
    const shell = new Deno.Command("bash", {
      args: ["-c", `${line} > '${e.root}/started.json'; sleep 30`],
      env: e.env,
      clearEnv: true,
      cwd: REPO,
      detached: true, // its own process group, like a shell an assistant's tool call starts
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    assert.ok(await until(() => e.api.mainRequests("sh").length > 0, 15_000), "the run reached the API");
    const started = JSON.parse(await Deno.readTextFile(`${e.root}/started.json`));
    Deno.kill(-shell.pid, "SIGHUP");
    Deno.kill(-shell.pid, "SIGTERM");
    await shell.status;
    // The supervisor is in its own session, where the group's HUP never arrives: send it the HUP a
    // terminal's hangup would, to the supervisor itself, so that its HUP handling is what is tested.
    assert.ok(started.supervisor_pid > 0, JSON.stringify(started));
    Deno.kill(started.supervisor_pid, "SIGHUP");
    const w = await runCli(["wait", "--slug", "sh", "--json"], { env: e.env });
    assert.equal(w.code, 0, w.stderr);
    assert.equal(w.json.status, "success");
    assert.equal(w.json.result, "Survived.");
  } finally {
    await e.cleanup();
  }
});

Deno.test("wait --timeout exits 7 and changes nothing; cancel stops a foreground run as cancelled", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("fg", [{ text: "late", delayMs: 30_000 }]);
    const fg = spawnCli(["run", "--slug", "fg", "--prompt", "Wait [[mock:fg]]", "--json"], { env: e.env });
    assert.ok(await until(() => e.api.mainRequests("fg").length > 0, 15_000));
    const logs = join(e.projects, "fg", ".dispatch-logs");
    const lockBefore = await Deno.readTextFile(join(logs, "lock"));
    const t0 = Date.now();
    const w = await runCli(["wait", "--slug", "fg", "--timeout", "1", "--json"], { env: e.env });
    assert.equal(w.code, 7, w.stderr);
    assert.ok(Date.now() - t0 < 5000);
    assert.equal(w.json.status, "running");
    assert.match(w.stderr, /still running/);
    assert.equal(await Deno.readTextFile(join(logs, "lock")), lockBefore, "the lock is untouched");
    assert.equal((await readJson(join(logs, `${w.json.run_id}-run.json`))).status, "running");
    const claudePid = JSON.parse(lockBefore).claude_pid;
    assert.ok(await alive(claudePid));
    const c = await runCli(["cancel", "--slug", "fg", "--json"], { env: e.env });
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.json.cancelled, true);
    const r = await collect(fg);
    assert.equal(r.code, 130, r.stderr);
    assert.equal(r.json.status, "cancelled");
    assert.equal(await alive(claudePid), false, "Claude Code is gone");
  } finally {
    await e.cleanup();
  }
});

Deno.test("history of a project of the earlier tool, totals in status, progress on stderr, results cut for the caller", async () => {
  const e = await startE2E();
  try {
    // A project as the earlier bash tool left it: project.json and bare result files.
    const dir = join(e.projects, "old");
    const logs = join(dir, ".dispatch-logs");
    await Deno.mkdir(logs, { recursive: true });
    await Deno.writeTextFile(join(dir, "CLAUDE.md"), "# Project: old\n");
    await Deno.writeTextFile(
      join(logs, "project.json"),
      JSON.stringify(
        {
          slug: "old",
          description: "legacy",
          created: "2026-03-31T14:30:22Z",
          updated: "2026-03-31T14:40:00Z",
        },
        null,
        2,
      ),
    );
    const legacy = (sid: string, extra: object) =>
      JSON.stringify({
        type: "result",
        subtype: "success",
        is_error: false,
        num_turns: 3,
        duration_ms: 42000,
        total_cost_usd: 0.25,
        session_id: sid,
        result: "ok",
        usage: { input_tokens: 1000, output_tokens: 500, cache_read_input_tokens: 200 },
        permission_denials: [],
        ...extra,
      });
    const s1 = "11111111-1111-4111-8111-111111111111";
    await Deno.writeTextFile(join(logs, "20260331-143022-12345-result.json"), legacy(s1, {}));
    await Deno.writeTextFile(
      join(logs, "20260331-150000-12399-result.json"),
      legacy(s1, { is_error: true, result: "API Error: 500", total_cost_usd: 0.05 }),
    );
    await Deno.writeTextFile(join(logs, "last-session-id"), s1 + "\n");
    const h = await runCli(["history", "--slug", "old", "--json"], { env: e.env });
    assert.equal(h.code, 0, h.stderr);
    assert.equal(h.json.total_runs, 2);
    assert.deepEqual(h.json.runs.map((r: { run_id: string }) => r.run_id), [
      "20260331-143022-12345",
      "20260331-150000-12399",
    ]);
    assert.deepEqual(h.json.runs.map((r: { status: string }) => r.status), ["success", "error"]);
    assert.equal(h.json.runs[0].num_turns, 3);
    assert.equal(h.json.runs[0].duration_ms, 42000);
    assert.equal(h.json.runs[0].session_id, s1);
    assert.ok(h.json.runs[0].started.startsWith("2026-03-3"));
    assert.equal(h.json.totals.cost_usd, 0.3);
    assert.equal(h.json.totals.tokens.total, 3400);
    const text = await runCli(["history", "--slug", "old"], { env: e.env });
    assert.match(text.stdout, /20260331-143022-12345 .* success/);
    assert.match(text.stdout, /Total: 2 runs, \$0\.3000/);
    const old = await runCli(["logs", "--slug", "old"], { env: e.env });
    assert.equal(old.code, 0, old.stderr);
    assert.match(old.stdout, /no transcript/);
    assert.match(old.stdout, /API Error: 500/);

    // A new run in that project: progress on stderr (turns so far), a long result cut in the text output.
    const long = "word ".repeat(1000).trim();
    e.api.scenario("new", [
      { toolUse: { name: "Write", input: { file_path: "a.txt", content: "a" } } },
      { text: long },
    ]);
    const r = await runCli(["resume", "--slug", "old", "--prompt", "More [[mock:new]]", "--progress"], {
      env: e.env,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /\[\d+\.\ds turn 1\] Write .*a\.txt/);
    assert.match(r.stderr, /success: 2 turns, 1 tool calls/);
    assert.match(r.stdout, /result cut at 2000 of 4999 characters; all of it is in .*-result\.json/);
    assert.ok(!r.stdout.includes(long));
    assert.ok(!r.stdout.includes("turn 1]"), "no progress on stdout");
    const index = (await Deno.readTextFile(join(logs, "runs.jsonl"))).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    // The index was started with the earlier runs, then the new one: a line when it was reserved (a run is a
    // run because dispatch-cc listed it), another when it ended (the last line of a run wins).
    assert.equal(index.length, 4);
    assert.deepEqual([index[2].run_id, index[2].status], [index[3].run_id, "running"]);
    assert.equal(index[3].status, "success");
    assert.equal(index[3].num_turns, 2);
    const st = await runCli(["status", "--slug", "old", "--json"], { env: e.env });
    assert.equal(st.json.totals.runs, 3);
    assert.ok(st.json.totals.cost_usd > 0.3);
    assert.ok(st.json.totals.tokens.total > 3400);
    const stText = await runCli(["status", "--slug", "old"], { env: e.env });
    assert.match(stText.stdout, /Total: 3 runs, \$0\.30\d\d/);

    // JSON: the full result by default, cut when --result-limit is given.
    const full = await runCli(["wait", "--slug", "old", "--json"], { env: e.env });
    assert.equal(full.json.result, long);
    assert.equal(full.json.result_truncated, false);
    assert.equal(full.json.result_chars, long.length);
    const cut = await runCli(["wait", "--slug", "old", "--json", "--result-limit", "100"], { env: e.env });
    assert.equal(cut.json.result.length, 100);
    assert.equal(cut.json.result_truncated, true);
    assert.equal(cut.json.result_chars, long.length);
  } finally {
    await e.cleanup();
  }
});

Deno.test("a cancel whose dispatcher does not stop in time kills it and finishes the record itself", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("stuck", [{ text: "late", delayMs: 30_000 }]);
    const d = await runCli([
      "run",
      "--slug",
      "stuck",
      "--prompt",
      "Hang [[mock:stuck]]",
      "--detach",
      "--json",
    ], {
      env: e.env,
    });
    assert.equal(d.code, 0, d.stderr);
    assert.ok(await until(() => e.api.mainRequests("stuck").length > 0, 15_000));
    assert.ok(
      await until(async () => typeof (await readJson(d.json.record_file)).claude_pid === "number", 5000),
    );
    const claudePid = (await readJson(d.json.record_file)).claude_pid;
    // A supervisor that ignores TERM: stop it, so only the forced path can end the run.
    Deno.kill(d.json.supervisor_pid, "SIGSTOP");
    const c = await runCli(["cancel", "--slug", "stuck", "--grace", "1", "--json"], { env: e.env });
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.json.forced, true);
    assert.equal(c.json.record.status, "cancelled");
    assert.equal(await exists(join(e.projects, "stuck", ".dispatch-logs", "lock")), false);
    assert.ok(
      await until(async () => !(await alive(claudePid)) && !(await alive(d.json.supervisor_pid)), 3000),
    );
    const h = await runCli(["history", "--slug", "stuck", "--json"], { env: e.env });
    assert.equal(h.json.runs.at(-1).status, "cancelled");
  } finally {
    await e.cleanup();
  }
});
