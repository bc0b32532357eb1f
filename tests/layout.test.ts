/**
 * status, list and search over projects written by the earlier bash tool, and over damaged ones: each
 * problem is reported for its project while the others are still listed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { baseEnv, runCli } from "./support/cli.ts";
import { seedResult, writeSeedProject } from "./support/seed_projects.ts";
import { tempDir } from "./support/temp.ts";

async function fixture() {
  const t = await tempDir();
  const projects = join(t.path, "projects");
  await writeSeedProject(projects, "task-api", {
    description: "Flask REST API for tasks",
    sessionId: "a1b2c3d4-0000-4000-8000-000000000001",
    lastResult: "Created a Flask REST API with full CRUD for tasks.\nAll 12 tests pass.",
    runs: [
      { stamp: "20260331-143022", pid: 12345, result: seedResult({ result: "first version" }) },
      { stamp: "20260331-150000", pid: 12399, result: seedResult({ total_cost_usd: 0.2468 }) },
    ],
  });
  await writeSeedProject(projects, "blocked-one", {
    description: "Deploy script",
    sessionId: "a1b2c3d4-0000-4000-8000-000000000002",
    lastResult: "Could not write",
    runs: [{
      stamp: "20260401-090000",
      pid: 222,
      result: seedResult({
        result: "Could not write",
        permission_denials: [{
          tool_name: "Bash",
          tool_use_id: "t",
          tool_input: { command: "rm -rf /tmp/x" },
        }],
      }),
    }],
  });
  await writeSeedProject(projects, "api-fail", {
    description: "Hit an API error",
    sessionId: "a1b2c3d4-0000-4000-8000-000000000003",
    lastResult: "API Error: 529 overloaded",
    runs: [{
      stamp: "20260402-090000",
      pid: 333,
      result: seedResult({
        subtype: "success",
        is_error: true,
        result: "API Error: 529 overloaded",
        api_error_status: 529,
      }),
    }],
  });
  // Damaged: truncated project.json, non-JSON result file, empty last-session-id.
  const broken = await writeSeedProject(projects, "broken", {
    description: "will be cut",
    sessionId: "",
    lastResult: "broken but searchable widget",
    runs: [{ stamp: "20260403-100000", pid: 444, result: '{"type":"result","is_er' }],
  });
  await Deno.writeTextFile(join(broken, ".dispatch-logs", "project.json"), '{"slug": "broken", "descr');
  // A folder with no logs at all (someone made it by hand).
  await Deno.mkdir(join(projects, "bare"), { recursive: true });
  const env = baseEnv({ projects, home: t.path });
  return { ...t, projects, env };
}

Deno.test("status shows an earlier tool's project: session, last run from its result file, last result", async () => {
  const f = await fixture();
  try {
    const r = await runCli(["status", "--slug", "task-api", "--json"], { env: f.env });
    assert.equal(r.code, 0, r.stderr);
    const s = r.json;
    assert.equal(s.version, 1);
    assert.equal(s.slug, "task-api");
    assert.equal(s.description, "Flask REST API for tasks");
    assert.equal(s.session_id, "a1b2c3d4-0000-4000-8000-000000000001");
    assert.equal(s.runs, 2);
    assert.equal(s.last_run.run_id, "20260331-150000-12399");
    assert.equal(s.last_run.status, "success");
    assert.equal(s.last_run.num_turns, 8);
    assert.equal(s.last_run.cost_usd, 0.1234);
    assert.equal(s.last_run.stop_reason, "end_turn");
    assert.match(s.last_result, /All 12 tests pass/);
    assert.deepEqual(s.problems, []);
    const text = await runCli(["status", "--slug", "task-api"], { env: f.env });
    assert.match(text.stdout, /^Project: task-api\nPath: .*task-api\n/);
    assert.match(text.stdout, /Status: success/);
    assert.match(text.stdout, /Stop reason: end_turn/);
  } finally {
    await f.cleanup();
  }
});

Deno.test("status reads denials as BLOCKED and is_error results as errors, never as success", async () => {
  const f = await fixture();
  try {
    const b = await runCli(["status", "--slug", "blocked-one", "--json"], { env: f.env });
    assert.equal(b.json.last_run.status, "blocked");
    assert.deepEqual(b.json.last_run.permission_denials, [{
      tool: "Bash",
      input: { command: "rm -rf /tmp/x" },
    }]);
    const human = await runCli(["status", "--slug", "blocked-one"], { env: f.env });
    assert.match(human.stdout, /BLOCKED \(1 denied\)/);
    const e = await runCli(["status", "--slug", "api-fail", "--json"], { env: f.env });
    assert.equal(e.json.last_run.status, "error");
    assert.match(e.json.last_run.error, /529/);
  } finally {
    await f.cleanup();
  }
});

Deno.test("status of a damaged project reports each problem and does not crash", async () => {
  const f = await fixture();
  try {
    const r = await runCli(["status", "--slug", "broken", "--json"], { env: f.env });
    assert.equal(r.code, 0, r.stderr);
    const p = r.json.problems.join("\n");
    assert.match(p, /project\.json corrupt/);
    assert.match(p, /last-session-id empty/);
    assert.match(p, /20260403-100000-444-result\.json corrupt/);
    assert.equal(r.json.last_run.status, "corrupt");
  } finally {
    await f.cleanup();
  }
});

Deno.test("list shows every project, damaged ones with their problem, and goes on", async () => {
  const f = await fixture();
  try {
    const r = await runCli(["list", "--json"], { env: f.env });
    assert.equal(r.code, 0, r.stderr);
    const bySlug = Object.fromEntries(r.json.projects.map((p: { slug: string }) => [p.slug, p]));
    assert.deepEqual(Object.keys(bySlug).sort(), ["api-fail", "bare", "blocked-one", "broken", "task-api"]);
    assert.equal(bySlug["task-api"].description, "Flask REST API for tasks");
    assert.equal(bySlug["task-api"].last_run.status, "success");
    assert.equal(bySlug["blocked-one"].last_run.status, "blocked");
    assert.ok(bySlug["broken"].problems.length > 0);
    assert.ok(bySlug["bare"].problems.some((p: string) => /project\.json missing/.test(p)));
    // Totals over every run of the earlier tool's result files; a corrupt one has no cost. The second run
    // resumed the first one's session and reported its running total (0.2468): its own cost is 0.1234.
    assert.equal(bySlug["task-api"].totals.runs, 2);
    assert.equal(bySlug["task-api"].totals.cost_usd, 0.2468);
    assert.ok(bySlug["task-api"].totals.tokens.total > 0);
    assert.deepEqual(
      [bySlug["broken"].totals.runs, bySlug["broken"].totals.runs_without_cost],
      [1, 1],
    );
    assert.equal(bySlug["bare"].totals.runs, 0);
    const text = await runCli(["list"], { env: f.env });
    assert.match(text.stdout, /^SLUG\s+LAST ACTIVITY\s+STATUS\s+COST\s+DESCRIPTION$/m);
    assert.match(
      text.stdout,
      /task-api\s+2026-03-31T14:31:07Z\s+success\s+\$0\.2468\s+Flask REST API for tasks/,
    );
    assert.match(text.stdout, /^broken\s+-\s+corrupt\s+-\s+\[project\.json corrupt/m);
  } finally {
    await f.cleanup();
  }
});

Deno.test("list of an empty or missing projects folder says so", async () => {
  const t = await tempDir();
  try {
    const r = await runCli(["list", "--json"], {
      env: baseEnv({ projects: join(t.path, "none"), home: t.path }),
    });
    assert.equal(r.code, 0);
    assert.deepEqual(r.json.projects, []);
  } finally {
    await t.cleanup();
  }
});

Deno.test("search matches slug, description and result text case-insensitively and shows where", async () => {
  const f = await fixture();
  try {
    const r = await runCli(["search", "FLASK", "--json"], { env: f.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.query, "FLASK");
    const m = r.json.matches;
    assert.ok(m.every((x: { slug: string }) => x.slug === "task-api"));
    assert.ok(m.some((x: { field: string }) => x.field === "description"));
    assert.ok(
      m.some((x: { field: string; source: string }) =>
        x.field === "result" && x.source === "last-result.txt"
      ),
    );
    const slug = await runCli(["search", "blocked", "--json"], { env: f.env });
    assert.deepEqual(slug.json.matches.map((x: { field: string }) => x.field), ["slug"]);
    const old = await runCli(["search", "first version", "--json"], { env: f.env });
    assert.equal(old.json.matches[0].source, "20260331-143022-12345-result.json");
    const broken = await runCli(["search", "widget"], { env: f.env });
    assert.match(broken.stdout, /broken:\n {2}last-result\.txt:1: broken but searchable widget/);
    // --limit caps the lines shown; the totals still count them all.
    const capped = await runCli(["search", "flask", "--limit", "1", "--json"], { env: f.env });
    assert.equal(capped.json.matches.length, 1);
    assert.equal(capped.json.truncated, true);
    assert.equal(capped.json.total_matches, r.json.matches.length);
    assert.equal(capped.json.total_projects, 1);
    const cappedText = await runCli(["search", "flask", "--limit", "1"], { env: f.env });
    assert.match(cappedText.stdout, /more matching lines; \d+ in 1 projects in all: use --limit 0/);
    const none = await runCli(["search", "zzzz-nothing", "--json"], { env: f.env });
    assert.deepEqual(none.json.matches, []);
  } finally {
    await f.cleanup();
  }
});

Deno.test("resume and status of a missing project exit 3 with a clear message; nothing is created", async () => {
  const f = await fixture();
  try {
    for (
      const args of [["status", "--slug", "nope"], ["resume", "--slug", "nope", "--prompt", "x"], [
        "review",
        "--slug",
        "nope",
      ]]
    ) {
      const r = await runCli([...args, "--json"], { env: { ...f.env, DISPATCH_CC_BIN: "/bin/true" } });
      assert.equal(r.code, 3, `${args[0]}: ${r.stderr}`);
      assert.equal(r.json.error.kind, "not_found");
      assert.match(r.stderr, /no project "nope"/);
    }
    assert.equal(await Deno.stat(join(f.projects, "nope")).then(() => true, () => false), false);
  } finally {
    await f.cleanup();
  }
});
