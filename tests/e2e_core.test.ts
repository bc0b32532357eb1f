/**
 * dispatch-cc end to end: the real Claude Code CLI against the scripted endpoint, through dispatch-cc
 * started as users start it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { collect, runCli, spawnCli } from "./support/cli.ts";
import { processesMatching, startE2E, until } from "./support/e2e.ts";

const readJson = async (p: string) => JSON.parse(await Deno.readTextFile(p));
const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

Deno.test("run writes a file through a Write tool call and records everything", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("write", [
      { toolUse: { name: "Write", input: { file_path: "hello.py", content: "print('hi')\n" } } },
      { text: "Created hello.py." },
    ]);
    const r = await runCli(
      [
        "run",
        "--slug",
        "hello",
        "--desc",
        "Hello script",
        "--prompt",
        "Write hello.py [[mock:write]]",
        "--json",
      ],
      { env: e.env },
    );
    assert.equal(r.code, 0, r.stderr);
    const dir = join(e.projects, "hello");
    assert.equal(await Deno.readTextFile(join(dir, "hello.py")), "print('hi')\n");
    const doc = r.json;
    assert.equal(doc.version, 1);
    assert.equal(doc.status, "success");
    assert.equal(doc.exit_code, 0);
    assert.equal(doc.slug, "hello");
    assert.equal(doc.project_dir, dir);
    assert.equal(doc.command, "run");
    assert.equal(doc.result, "Created hello.py.");
    assert.equal(doc.num_turns, 2);
    assert.ok(doc.cost_usd > 0);
    assert.ok(doc.duration_ms > 0);
    assert.deepEqual(doc.permission_denials, []);
    assert.ok(doc.files_touched.some((f: string) => f.endsWith("hello.py")));
    assert.match(doc.session_id, /^[0-9a-f-]{36}$/);
    // The layout of the earlier tool, plus our additive files.
    const logs = join(dir, ".dispatch-logs");
    assert.equal((await Deno.readTextFile(join(logs, "last-session-id"))).trim(), doc.session_id);
    assert.equal((await Deno.readTextFile(join(logs, "last-result.txt"))).trim(), "Created hello.py.");
    const meta = await readJson(join(logs, "project.json"));
    assert.equal(meta.slug, "hello");
    assert.equal(meta.description, "Hello script");
    assert.match(meta.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok((await Deno.readTextFile(join(dir, "CLAUDE.md"))).startsWith("# Project: hello"));
    const result = await readJson(doc.result_file);
    assert.equal(result.type, "result");
    assert.equal(result.session_id, doc.session_id);
    assert.match(doc.result_file, /\d{8}-\d{6}-\d+-result\.json$/);
    const events = (await Deno.readTextFile(doc.transcript_file)).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.equal(events[0].type, "system");
    assert.equal(events.at(-1).type, "result");
    assert.ok(await exists(doc.stderr_file));
    assert.equal((await readJson(doc.record_file)).status, "success");
    assert.equal(await exists(join(logs, "lock")), false, "the lock is released");
    // stdout held exactly one JSON document.
    assert.equal(r.stdout.trim().startsWith("{") && r.stdout.trim().endsWith("}"), true);
  } finally {
    await e.cleanup();
  }
});

Deno.test("resume continues the same session: the endpoint sees the earlier conversation", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("first", [{ text: "Remembered the number 4217." }]);
    e.api.scenario("second", [{ text: "The number was 4217." }]);
    const a = await runCli(["run", "--slug", "mem", "--prompt", "Remember 4217 [[mock:first]]", "--json"], {
      env: e.env,
    });
    assert.equal(a.code, 0, a.stderr);
    const b = await runCli(
      ["resume", "--slug", "mem", "--prompt", "What was it? [[mock:second]]", "--json"],
      {
        env: e.env,
      },
    );
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.json.session_id, a.json.session_id);
    assert.equal(b.json.session_mode, "resume");
    assert.equal(b.json.command, "resume");
    const req = e.api.mainRequests("second")[0];
    const convo = JSON.stringify(req.body.messages);
    assert.ok(convo.includes("Remember 4217"), "the resumed request carries the first prompt");
    assert.ok(convo.includes("Remembered the number 4217."), "and the first answer");
  } finally {
    await e.cleanup();
  }
});

Deno.test("review runs a new read-only session: its Write is denied and reported as blocked; resume still continues the work", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("work", [{ text: "Work done." }]);
    e.api.scenario("rev", [
      { toolUse: { name: "Write", input: { file_path: "REVIEW.md", content: "x" } } },
      { text: "Review: fine." },
    ]);
    e.api.scenario("more", [{ text: "More work." }]);
    const work = await runCli(["run", "--slug", "rv", "--prompt", "Do it [[mock:work]]", "--json"], {
      env: e.env,
    });
    assert.equal(work.code, 0, work.stderr);
    const rev = await runCli(["review", "--slug", "rv", "--prompt", "Review [[mock:rev]]", "--json"], {
      env: e.env,
    });
    assert.equal(rev.code, 4, rev.stderr);
    assert.equal(rev.json.status, "blocked");
    assert.equal(rev.json.permission, "plan");
    assert.notEqual(rev.json.session_id, work.json.session_id);
    assert.equal(rev.json.permission_denials[0].tool, "Write");
    assert.match(JSON.stringify(rev.json.permission_denials[0].input), /REVIEW\.md/);
    assert.equal(await exists(join(e.projects, "rv", "REVIEW.md")), false);
    assert.deepEqual(rev.json.files_touched, [], "a refused write is not a file written");
    const logs = join(e.projects, "rv", ".dispatch-logs");
    assert.equal((await Deno.readTextFile(join(logs, "last-session-id"))).trim(), work.json.session_id);
    assert.equal((await Deno.readTextFile(join(logs, "last-review-session-id"))).trim(), rev.json.session_id);
    const status = await runCli(["status", "--slug", "rv"], { env: e.env });
    assert.match(status.stdout, /BLOCKED \(1 denied\)/);
    const more = await runCli(["resume", "--slug", "rv", "--prompt", "Go on [[mock:more]]", "--json"], {
      env: e.env,
    });
    assert.equal(
      more.json.session_id,
      work.json.session_id,
      "resume continues the work session, not the review",
    );
  } finally {
    await e.cleanup();
  }
});

Deno.test("a timeout during a Bash call that detached a grandchild leaves no process behind, and the session resumes", async () => {
  const e = await startE2E();
  try {
    const tag = `sleep ${7000 + Math.floor(Math.random() * 900)}`;
    e.api.scenario("slow", [
      {
        toolUse: {
          name: "Bash",
          input: {
            command: `(setsid ${tag} > /dev/null 2>&1 &) ; nohup ${tag}1 >/dev/null 2>&1 & sleep 60`,
            description: "work",
          },
        },
      },
      { text: "never reached" },
    ]);
    e.api.scenario("after", [{ text: "Resumed fine." }]);
    const t0 = Date.now();
    const r = await runCli(
      [
        "run",
        "--slug",
        "slow",
        "--prompt",
        "Run it [[mock:slow]]",
        "--timeout",
        "20",
        "--allowed-tools",
        "Bash",
        "--json",
      ],
      { env: e.env },
    );
    const took = Date.now() - t0;
    assert.equal(r.code, 124, r.stderr);
    assert.equal(r.json.status, "timeout");
    assert.ok(took < 60_000, `ended at the timeout, not after the 60 s command (${took} ms)`);
    assert.deepEqual(await processesMatching(tag), [], "no process of the run is left");
    assert.ok(r.json.ended_processes.length >= 1, "the record names what was ended");
    assert.equal(await exists(join(e.projects, "slow", ".dispatch-logs", "lock")), false);
    const again = await runCli(
      ["resume", "--slug", "slow", "--prompt", "Continue [[mock:after]]", "--json"],
      {
        env: e.env,
      },
    );
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.json.session_id, r.json.session_id);
    assert.equal(again.json.session_mode, "resume");
    assert.equal(again.json.result, "Resumed fine.");
  } finally {
    await e.cleanup();
  }
});

Deno.test("a process detached by a successful run is ended too", async () => {
  const e = await startE2E();
  try {
    const tag = `sleep ${8000 + Math.floor(Math.random() * 900)}`;
    e.api.scenario("leave", [
      {
        toolUse: {
          name: "Bash",
          input: { command: `(setsid ${tag} > /dev/null 2>&1 &)`, description: "bg" },
        },
      },
      { text: "Started a background job." },
    ]);
    const r = await runCli(
      ["run", "--slug", "leave", "--prompt", "Go [[mock:leave]]", "--allowed-tools", "Bash", "--json"],
      { env: e.env },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await processesMatching(tag), []);
    assert.ok(r.json.ended_processes.some((p: { command: string }) => p.command.includes(tag)));
  } finally {
    await e.cleanup();
  }
});

Deno.test("SIGINT to dispatch-cc mid-run ends the run as interrupted (130) and releases the lock", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("long", [{ text: "late", delayMs: 30_000 }]);
    const child = spawnCli(["run", "--slug", "intr", "--prompt", "Wait [[mock:long]]", "--json"], {
      env: e.env,
    });
    const lock = join(e.projects, "intr", ".dispatch-logs", "lock");
    assert.ok(
      await until(() => e.api.mainRequests("long").length > 0, 15_000),
      "the request reached the API",
    );
    assert.ok(await exists(lock));
    child.kill("SIGINT");
    const r = await collect(child);
    assert.equal(r.code, 130, r.stderr);
    assert.equal(r.json.status, "interrupted");
    assert.equal(await exists(lock), false);
    assert.deepEqual(await processesMatching(`Wait [[mock:long]]`), []);
    const status = await runCli(["status", "--slug", "intr", "--json"], { env: e.env });
    assert.equal(status.json.last_run.status, "interrupted");
    assert.equal(status.json.session_id, r.json.session_id);
  } finally {
    await e.cleanup();
  }
});

Deno.test("an API error is reported fast, with its status and text (no three-minute retry)", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("boom", [{ httpError: { status: 500 } }]);
    const r = await runCli(["run", "--slug", "err", "--prompt", "x [[mock:boom]]", "--json"], { env: e.env });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.json.status, "error");
    assert.equal(r.json.api_error_status, 500);
    assert.match(r.json.error, /500/);
    assert.equal(
      e.api.mainRequests("boom").length,
      1,
      "no retry: CLAUDE_CODE_MAX_RETRIES reaches Claude Code",
    );
  } finally {
    await e.cleanup();
  }
});

Deno.test("two concurrent runs on one slug: exactly one runs, the other is refused at once and changes nothing", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("hold", [{ text: "held", delayMs: 3000 }]);
    const first = spawnCli([
      "run",
      "--slug",
      "one",
      "--desc",
      "first",
      "--prompt",
      "A [[mock:hold]]",
      "--json",
    ], {
      env: e.env,
    });
    const pj = join(e.projects, "one", ".dispatch-logs", "project.json");
    assert.ok(await until(() => e.api.mainRequests("hold").length > 0, 15_000));
    const before = await Deno.readTextFile(pj);
    const t0 = Date.now();
    const second = await runCli([
      "run",
      "--slug",
      "one",
      "--desc",
      "second",
      "--prompt",
      "B [[mock:hold]]",
      "--json",
    ], {
      env: e.env,
    });
    assert.equal(second.code, 5, second.stderr);
    assert.equal(second.json.error.kind, "lock_held");
    // Refused while the first run still holds the lock (its answer is held back): order, not time.
    assert.equal(e.api.mainRequests("hold").length, 1, `refused at once (${Date.now() - t0} ms)`);
    assert.equal(await Deno.readTextFile(pj), before, "project.json unchanged by the refused run");
    const a = await collect(first);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(e.api.mainRequests("hold").length, 1, "exactly one specialist ran");
    // --wait queues behind the lock instead.
    e.api.scenario("q", [{ text: "queued", delayMs: 1500 }]);
    const c1 = spawnCli(["run", "--slug", "one", "--prompt", "C [[mock:q]]", "--json"], { env: e.env });
    assert.ok(await until(() => e.api.mainRequests("q").length > 0, 15_000));
    const c2 = await runCli(["run", "--slug", "one", "--prompt", "D [[mock:q]]", "--wait", "--json"], {
      env: e.env,
    });
    assert.equal(c2.code, 0, c2.stderr);
    assert.equal((await collect(c1)).code, 0);
    assert.equal(e.api.mainRequests("q").length, 2);
  } finally {
    await e.cleanup();
  }
});

Deno.test("a 2 MB prompt from a file reaches Claude Code whole", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("big", [{ text: "Read it all." }]);
    const big = "[[mock:big]]\n" + "x".repeat(2 * 1024 * 1024) + "\nEND-OF-PROMPT";
    const file = join(e.root, "big.md");
    await Deno.writeTextFile(file, big);
    const r = await runCli(["run", "--slug", "big", "--prompt-file", file, "--json"], { env: e.env });
    assert.equal(r.code, 0, r.stderr);
    const body = JSON.stringify(e.api.mainRequests("big")[0].body.messages);
    assert.ok(body.includes("END-OF-PROMPT") && body.length > 2 * 1024 * 1024);
  } finally {
    await e.cleanup();
  }
});

Deno.test("resume with no saved session starts a new one with a warning", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("a", [{ text: "ok" }]);
    e.api.scenario("b", [{ text: "fresh" }]);
    assert.equal((await runCli(["run", "--slug", "ns", "--prompt", "a [[mock:a]]"], { env: e.env })).code, 0);
    const logs = join(e.projects, "ns", ".dispatch-logs");
    await Deno.writeTextFile(join(logs, "last-session-id"), "00000000-0000-4000-8000-000000000000\n");
    const r = await runCli(["resume", "--slug", "ns", "--prompt", "b [[mock:b]]", "--json"], { env: e.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.session_mode, "new");
    assert.match(r.stderr, /no longer known to Claude Code; starting a new session/);
    assert.ok(r.json.warnings.length === 1);
    assert.equal((await Deno.readTextFile(join(logs, "last-session-id"))).trim(), r.json.session_id);
  } finally {
    await e.cleanup();
  }
});
