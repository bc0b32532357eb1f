// A cold `list` reads each project from one listing of its logs folder (scanLogs): files the listing shows
// are not there are never tried. These tests hold the listing's answers to those of readers that try every
// file, for every odd case of a run's files, so the shortcut can never change an answer.
import assert from "node:assert/strict";
import { join } from "node:path";
import { readHistory } from "../src/store/history.ts";
import * as ours from "../src/paths.ts";
import { projectPaths } from "../src/store/project.ts";
import { compareRunIds, sortRunIds } from "../src/store/run_id.ts";
import { readRun, readRunSync, scanLogs } from "../src/store/runs.ts";
import { readListEntry } from "../src/store/summary.ts";
import { tempDir } from "./support/temp.ts";

async function mkfifo(path: string) {
  const out = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.ok(out.success, "mkfifo");
}

const result = (cost: number) =>
  JSON.stringify({ type: "result", subtype: "success", is_error: false, num_turns: 1, total_cost_usd: cost });
const record = (runId: string, extra: object = {}) =>
  JSON.stringify({
    version: 1,
    run_id: runId,
    command: "run",
    status: "success",
    exit_code: 0,
    started: "2026-04-01T09:00:00Z",
    cost_usd: 0.5,
    ...extra,
  });
const id = (n: number) => `20260401-0900${String(n).padStart(2, "0")}-${n}`;

/** One run per odd case of its files; returns each run's expected status. */
async function oddRuns(logs: string): Promise<string[]> {
  const w = (n: number, kind: string, text: string) =>
    Deno.writeTextFile(join(logs, `${id(n)}-${kind}`), text);
  await w(1, "result.json", result(0.1)); // the earlier tool's run: its result file only
  await w(2, "run.json", record(id(2)));
  await w(2, "result.json", result(0.2));
  // A record that is JSON but not a run record makes the run corrupt, whatever its result file holds.
  await w(3, "run.json", JSON.stringify({ version: 1, run_id: id(3), status: "nonsense" }));
  await w(3, "result.json", result(0.3));
  await w(4, "run.json", "{broken"); // not JSON: read as the earlier tool's run, from its result file
  await w(4, "result.json", result(0.4));
  await w(5, "events.jsonl", "{}\n"); // neither record nor result
  await mkfifo(join(logs, `${id(6)}-result.json`));
  await Deno.symlink("/dev/zero", join(logs, `${id(7)}-run.json`));
  await w(7, "result.json", result(0.7));
  await Deno.mkdir(join(logs, `${id(8)}-result.json`));
  await w(9, "result.json", "\n");
  await Deno.symlink(join(logs, "nowhere"), join(logs, `${id(10)}-run.json`)); // a dangling link
  await w(10, "result.json", result(1));
  return [
    "success",
    "success",
    "corrupt",
    "success",
    "corrupt",
    "corrupt",
    "success",
    "corrupt",
    "corrupt",
    "success",
  ];
}

Deno.test("a run read with the folder's listing is the run read by trying each of its files", async () => {
  const t = await tempDir();
  try {
    const statuses = await oddRuns(t.path);
    const listing = scanLogs(t.path);
    assert.deepEqual(listing.ids, statuses.map((_, i) => id(i + 1)));
    for (const runId of listing.ids) {
      const tried = await readRun(t.path, runId);
      assert.deepEqual(readRunSync(t.path, runId, listing), tried, runId);
      assert.deepEqual(readRunSync(t.path, runId), tried, runId);
    }
    assert.deepEqual(listing.ids.map((r) => readRunSync(t.path, r, listing).status), statuses);
    const problems = listing.ids.map((r) => readRunSync(t.path, r, listing).problem);
    assert.match(problems[2]!, /-run\.json is corrupt: its "status"/);
    assert.equal(problems[4], `${id(5)}-result.json missing`);
    assert.equal(problems[5], `${id(6)}-result.json not a regular file (a FIFO)`);
    // A folder path join() would normalize: the listing's paths are join()'s.
    const odd = `${t.path}/./`;
    const oddListing = scanLogs(odd);
    assert.equal(oddListing.prefix, null);
    assert.deepEqual(readRunSync(odd, id(1), oddListing), readRunSync(odd, id(1)));
    assert.equal(readRunSync(odd, id(1), oddListing).result_file, join(t.path, `${id(1)}-result.json`));
    // A listing of another folder is not used for this one.
    assert.deepEqual(readRunSync(t.path, id(2), scanLogs(odd)), readRunSync(t.path, id(2)));
  } finally {
    await t.cleanup();
  }
});

Deno.test("history from the caller's listing equals history from its own listing", async () => {
  const t = await tempDir();
  try {
    await oddRuns(t.path);
    const plain = await readHistory(t.path);
    assert.equal(plain.indexed, false);
    assert.deepEqual(await readHistory(t.path, scanLogs(t.path)), plain);

    // With runs.jsonl: an indexed run, one it says is running (its record says more), a torn line, and a
    // run file it does not list (foreign, not a run).
    const logs = join(t.path, "indexed");
    await Deno.mkdir(logs);
    await Deno.writeTextFile(join(logs, `${id(1)}-run.json`), record(id(1)));
    await Deno.writeTextFile(join(logs, `${id(2)}-run.json`), record(id(2), { cost_usd: 0.25 }));
    await Deno.writeTextFile(join(logs, `${id(3)}-result.json`), result(3));
    const line = (runId: string, status: string) =>
      JSON.stringify({ run_id: runId, command: "run", status, started: null, cost_usd: 0.5 });
    await Deno.writeTextFile(
      join(logs, "runs.jsonl"),
      line(id(1), "success") + "\n" + line(id(2), "running") + "\n" + '{"run_id":"torn',
    );
    const listing = scanLogs(logs);
    assert.deepEqual(listing.ids, [id(1), id(2)]);
    assert.deepEqual(listing.foreign, [`${id(3)}-result.json`]);
    const h = await readHistory(logs);
    assert.equal(h.indexed, true);
    assert.deepEqual(h.entries.map((e) => [e.run_id, e.status, e.cost_usd]), [
      [id(1), "success", 0.5],
      [id(2), "success", 0.25],
    ]);
    assert.equal(h.problems.length, 1);
    assert.deepEqual(await readHistory(logs, listing), h);
  } finally {
    await t.cleanup();
  }
});

Deno.test("list's entry sees the lock and project.json the listing shows, and only those", async () => {
  const t = await tempDir();
  try {
    const paths = projectPaths(t.path, "p");
    await Deno.mkdir(paths.logsDir, { recursive: true });
    await Deno.writeTextFile(join(paths.logsDir, `${id(1)}-run.json`), record(id(1)));
    let r = await readListEntry(paths);
    assert.equal(r.entry.status, "success");
    assert.deepEqual(r.entry.problems, ["project.json missing"]);
    assert.equal(r.volatile, false);

    await mkfifo(paths.projectJson);
    r = await readListEntry(paths);
    assert.deepEqual(r.entry.problems, ["project.json not a regular file (a FIFO)"]);
    await Deno.remove(paths.projectJson);
    await Deno.writeTextFile(paths.projectJson, JSON.stringify({ slug: "p", description: "d" }));

    // A lock held by a live dispatcher on this host: running, and never cached.
    await Deno.writeTextFile(
      paths.lock,
      JSON.stringify({ pid: Deno.pid, host: Deno.hostname(), started: "x", command: "run", run_id: id(2) }),
    );
    r = await readListEntry(paths);
    assert.equal(r.entry.status, "running");
    assert.equal(r.entry.description, "d");
    assert.deepEqual(r.entry.problems, []);
    assert.equal(r.volatile, true);
    assert.equal(r.entry.last_run?.status, "success");
  } finally {
    await t.cleanup();
  }
});

Deno.test("projectPaths gives join()'s paths for any projects folder and slug", () => {
  const ref = (projectsDir: string, slug: string) => {
    const dir = ours.join(projectsDir, slug);
    const logsDir = ours.join(dir, ".dispatch-logs");
    return {
      slug,
      dir,
      logsDir,
      claudeMd: ours.join(dir, "CLAUDE.md"),
      projectJson: ours.join(logsDir, "project.json"),
      lastSessionId: ours.join(logsDir, "last-session-id"),
      lastResult: ours.join(logsDir, "last-result.txt"),
      lastReviewSessionId: ours.join(logsDir, "last-review-session-id"),
      lock: ours.join(logsDir, "lock"),
    };
  };
  for (const dir of ["", ".", "..", "/", "//", "a", "a/", "/a/./b/", "../x", "/tmp/projects", "/a/../b"]) {
    for (const slug of ["s", "task-api", "a/b", "..", ".", "x/", ""]) {
      assert.deepEqual(projectPaths(dir, slug), ref(dir, slug), `${dir} ${slug}`);
    }
  }
});

Deno.test("sortRunIds orders as sort(compareRunIds), ties and odd ids included", () => {
  const ids = [
    "20260401-090000-12.2",
    "20260401-090000-12",
    "20260401-090000-012", // the same key as the one above: the stable order keeps them as given
    "20260331-235959-99999",
    "not-a-run",
    "20260401-090000-3",
    "20260401-090000-12.10",
    "20260401-090000-012",
    "",
  ];
  for (let shift = 0; shift < ids.length; shift++) {
    const turned = [...ids.slice(shift), ...ids.slice(0, shift)];
    assert.deepEqual(sortRunIds(turned), [...turned].sort(compareRunIds));
  }
});
