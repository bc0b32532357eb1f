/**
 * The index (`.dispatch-index/index.db`) never disagrees with the project files: deleted, corrupted, of
 * another schema version, or outdated by hand edits made the way the earlier bash tool made them, it gives
 * the same answers as a cold scan.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { matchProject } from "../src/search_match.ts";
import {
  cachedRunsSummary,
  INDEX_DIR,
  indexProject,
  listLines,
  listProjects,
  scanSearchSources,
} from "../src/store/index_db.ts";
import { baseEnv, runCli } from "./support/cli.ts";
import { seedResult, writeSeedProject } from "./support/seed_projects.ts";
import { tempDir } from "./support/temp.ts";

// Files are cached only once this old (the real margin is 2 s); the sleeps below keep each edit apart
// from the scan before it.
const RACY_MS = 20;
const settle = () => new Promise((r) => setTimeout(r, RACY_MS + 30));

async function fixture() {
  const t = await tempDir();
  const projects = join(t.path, "projects");
  await writeSeedProject(projects, "task-api", {
    description: "Flask REST API for tasks",
    sessionId: "a1b2c3d4-0000-4000-8000-000000000001",
    lastResult: "Created a Flask REST API.\nAll 12 tests pass.",
    runs: [
      { stamp: "20260331-143022", pid: 12345, result: seedResult({ result: "first version with widgets" }) },
      {
        stamp: "20260331-150000",
        pid: 12399,
        // A resume of the same session: Claude Code reports the session's running total (own cost 0.1234).
        result: seedResult({ result: "Created a Flask REST API.", total_cost_usd: 0.2468 }),
      },
    ],
  });
  await writeSeedProject(projects, "other", {
    description: 'Deploy script to İSTANBUL ΟΔΟΣ for $& and $1 "quoted" \\ back\tslash',
    lastResult: "deployed",
    runs: [{ stamp: "20260401-090000", pid: 222, result: seedResult({ result: "deployed" }) }],
  });
  const broken = await writeSeedProject(projects, "broken", {
    description: "x",
    runs: [{ stamp: "20260403-100000", pid: 444, result: '{"type":"result","is_er' }],
  });
  await Deno.writeTextFile(join(broken, ".dispatch-logs", "project.json"), '{"slug": "broken", "descr');
  await Deno.mkdir(join(projects, "bare"));
  return { ...t, projects };
}

async function searchAll(projects: string, needle: string, cache: boolean) {
  const found: { slug: string; matches: unknown[]; problems: string[]; counted: number }[] = [];
  // What search counts (from the cache's one pass over a shard, or project by project), then what it shows.
  const visit = (slug: string, src: Parameters<typeof matchProject>[1]) => {
    const counted = matchProject(slug, src, needle, false).count;
    found.push({ slug, ...matchProject(slug, src, needle), counted });
  };
  await scanSearchSources(projects, visit, {
    cache,
    racyMs: RACY_MS,
    needle,
  });
  // With a needle, projects that cannot match are skipped: compare what search shows.
  return found.filter((r) => r.matches.length || r.problems.length).sort((
    a,
    b,
  ) => (a.slug < b.slug ? -1 : 1));
}

/** The cached answers equal a cold scan's, for list and for searches of a few words. */
async function assertSameAsCold(projects: string, why: string) {
  const cold = await listProjects(projects, { cache: false });
  // The text listing first (it reads only the lines file), then the whole entries.
  const lines = await listLines(projects, { racyMs: RACY_MS });
  assert.deepEqual(
    lines.entries,
    (await listLines(projects, { cache: false })).entries,
    `lines after ${why}`,
  );
  const cached = await listProjects(projects, { racyMs: RACY_MS });
  assert.deepEqual(cached.entries, cold.entries, `list after ${why}`);
  for (const word of ["widget", "flask", "deployed", "brand-new", "tests", "task-api", '"', "\n"]) {
    assert.deepEqual(
      await searchAll(projects, word, true),
      await searchAll(projects, word, false),
      `search ${word} after ${why}`,
    );
  }
}

Deno.test("a second list is answered from the cache, and equals a cold scan", async () => {
  const f = await fixture();
  try {
    await settle();
    const first = await listProjects(f.projects, { racyMs: RACY_MS });
    assert.equal(first.read, 4);
    const second = await listProjects(f.projects, { racyMs: RACY_MS });
    assert.equal(second.read, 1, "only the folder without .dispatch-logs is read again");
    assert.deepEqual(second.entries, (await listProjects(f.projects, { cache: false })).entries);
    assert.equal(
      second.entries.find((e) => e.slug === "task-api")?.last_run?.run_id,
      "20260331-150000-12399",
    );
    // The text listing's cold scan filled the --json cache too (and the other way round).
    for (const [cold, other] of [[listLines, listProjects], [listProjects, listLines]] as const) {
      await Deno.remove(join(f.projects, INDEX_DIR), { recursive: true });
      assert.equal((await cold(f.projects, { racyMs: RACY_MS })).read, 4);
      assert.equal((await other(f.projects, { racyMs: RACY_MS })).read, 1, "only the bare folder again");
    }
  } finally {
    await f.cleanup();
  }
});

Deno.test("hand edits as the earlier bash tool made them are seen at once by list and search", async () => {
  const f = await fixture();
  const logs = join(f.projects, "task-api", ".dispatch-logs");
  try {
    await settle();
    await assertSameAsCold(f.projects, "the first scan");
    await settle();

    // A new run by the earlier tool: a result file (denied: BLOCKED), last-result.txt and project.json
    // rewritten in place.
    await Deno.writeTextFile(
      join(logs, "20260402-080000-555-result.json"),
      JSON.stringify(seedResult({
        result: "brand-new result",
        permission_denials: [{ tool_name: "Bash", tool_use_id: "t", tool_input: { command: "ls" } }],
      })),
    );
    await assertSameAsCold(f.projects, "a new result file");
    const afterRun = await listProjects(f.projects, { racyMs: RACY_MS });
    assert.equal(afterRun.entries.find((e) => e.slug === "task-api")?.status, "blocked");
    await settle();

    await Deno.writeTextFile(
      join(logs, "project.json"),
      JSON.stringify(
        { slug: "task-api", description: "Renamed by hand", created: "x", updated: "y" },
        null,
        2,
      ),
    );
    await assertSameAsCold(f.projects, "project.json rewritten in place");
    assert.equal(
      (await listProjects(f.projects)).entries.find((e) => e.slug === "task-api")?.description,
      "Renamed by hand",
    );
    await settle();

    await Deno.writeTextFile(join(logs, "last-result.txt"), "brand-new last result\n");
    await assertSameAsCold(f.projects, "last-result.txt rewritten in place");
    const hit = (await searchAll(f.projects, "brand-new last", true)).find((r) => r.slug === "task-api");
    assert.equal(hit?.matches.length, 1);
    await settle();

    // Projects added and removed.
    await writeSeedProject(f.projects, "zeta", { description: "brand-new project", runs: [] });
    await Deno.remove(join(f.projects, "other"), { recursive: true });
    await assertSameAsCold(f.projects, "a project added and one removed");
    await settle();

    // A broken project repaired.
    await Deno.writeTextFile(
      join(f.projects, "broken", ".dispatch-logs", "project.json"),
      '{"slug":"broken","description":"fixed"}',
    );
    await assertSameAsCold(f.projects, "project.json repaired");
  } finally {
    await f.cleanup();
  }
});

Deno.test("the cache files of earlier versions are removed when the index is created", async () => {
  const f = await fixture();
  try {
    const index = join(f.projects, INDEX_DIR);
    await Deno.mkdir(join(index, "status-v2"), { recursive: true });
    const old = ["list-v2.json", "list-v3.json", "list-v3-details.txt", "search-v3.json", "search-v3-07.txt"];
    for (const name of [...old, "status-v2/task-api.json"]) await Deno.writeTextFile(join(index, name), "{}");
    await Deno.writeTextFile(join(index, "keep-me.txt"), "not ours to remove");
    await settle();
    await listProjects(f.projects, { racyMs: RACY_MS });
    const left = [...Deno.readDirSync(index)].map((e) => e.name).sort();
    assert.deepEqual(left.filter((n) => !n.startsWith("index.db")), ["keep-me.txt"]);
  } finally {
    await f.cleanup();
  }
});

/** Runs SQL against the index file, as another program (or another version of dispatch-cc) might. */
async function sql(projects: string, text: string) {
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(join(projects, INDEX_DIR, "index.db"));
  try {
    db.exec(text);
  } finally {
    db.close();
  }
}

Deno.test("a deleted, corrupt or foreign index gives the same answers as a cold scan", async () => {
  const f = await fixture();
  const file = join(f.projects, INDEX_DIR, "index.db");
  try {
    await settle();
    await assertSameAsCold(f.projects, "the first scan");
    assert.ok(Deno.statSync(file).size > 0, "the index was written");
    // Keys that cannot match, with other texts: were the keys not checked, list would show "Flusk".
    await sql(
      f.projects,
      "UPDATE projects SET list_key = 1, search_key = 1, line = replace(line, 'Flask', 'Flusk'), entry = replace(entry, 'Flask', 'Flusk')",
    );
    await assertSameAsCold(f.projects, "an index with foreign keys");
    // Rows of projects that are gone, and a folder key that vouches for them.
    await sql(f.projects, "INSERT INTO projects (slug, list_key, search_key) VALUES ('ghost', 1, 1)");
    await assertSameAsCold(f.projects, "a row of a project that does not exist");
    const bytes = await Deno.readFile(file);
    for (
      const [why, damage] of [
        ["a garbage file", () => Deno.writeTextFile(file, "garbage".repeat(1000))],
        ["a file cut short", () => Deno.writeFile(file, bytes.slice(0, 4096 + 100))],
        ["an empty file", () => Deno.writeTextFile(file, "")],
        ["another schema version", () => sql(f.projects, "PRAGMA user_version = 99")],
        ["another program's database", async () => {
          await Deno.remove(file);
          await sql(f.projects, "CREATE TABLE projects(x); INSERT INTO projects VALUES (1)");
        }],
      ] as const
    ) {
      await listProjects(f.projects, { racyMs: RACY_MS }); // a whole index to damage
      await damage();
      await assertSameAsCold(f.projects, why);
      await assertSameAsCold(f.projects, `${why}, once rebuilt`);
    }
    await Deno.remove(join(f.projects, INDEX_DIR), { recursive: true });
    await assertSameAsCold(f.projects, "deleting the index");
  } finally {
    await f.cleanup();
  }
});

Deno.test("dispatch-cc's own writes index the project at once: the next list does not read it", async () => {
  const f = await fixture();
  try {
    await settle();
    await listProjects(f.projects, { racyMs: RACY_MS });
    await scanSearchSources(f.projects, () => {}, { racyMs: RACY_MS, needle: "widget" });
    // A run's end: a new result file and last-result.txt, just written (too new for a scan to trust).
    const logs = join(f.projects, "task-api", ".dispatch-logs");
    await Deno.writeTextFile(
      join(logs, "20260402-080000-555-result.json"),
      JSON.stringify(seedResult({ result: "brand-new widget" })),
    );
    await Deno.writeTextFile(join(logs, "last-result.txt"), "brand-new widget\n");
    await indexProject(f.projects, "task-api");
    const after = await listProjects(f.projects, { racyMs: 3_600_000 });
    assert.equal(after.read, 1, "only the bare folder is read");
    assert.equal(after.entries.find((e) => e.slug === "task-api")?.runs, 3);
    let read = -1;
    const found: string[] = [];
    ({ read } = await scanSearchSources(f.projects, (slug) => found.push(slug), {
      racyMs: 3_600_000,
      needle: "brand-new",
    }));
    assert.deepEqual(found.filter((s) => s === "task-api"), ["task-api"]);
    assert.equal(read, 1, "search reads only the bare folder too");
    await assertSameAsCold(f.projects, "a run indexed by dispatch-cc");
  } finally {
    await f.cleanup();
  }
});

Deno.test("list --json and search through the CLI are the same with and without the cache", async () => {
  const f = await fixture();
  try {
    const env = baseEnv({ projects: f.projects, home: f.path });
    await new Promise((r) => setTimeout(r, 2100)); // older than the real racy margin: cached for real
    const cold = await runCli(["list", "--json"], { env });
    const warm = await runCli(["list", "--json"], { env });
    assert.equal(cold.code, 0, cold.stderr);
    assert.deepEqual(warm.json, cold.json);
    // Printed from the cached entry texts, the document is exactly what JSON.stringify prints.
    assert.equal(warm.stdout, cold.stdout);
    assert.equal(warm.stdout, JSON.stringify(warm.json, null, 2) + "\n");
    assert.match(warm.stdout, /for \$& and \$1 \\"quoted\\"/);
    const text = await runCli(["list"], { env });
    assert.match(
      text.stdout,
      /^other\s.*Deploy script to İSTANBUL ΟΔΟΣ for \$& and \$1 "quoted" \\ back$/m,
    );
    const s1 = await runCli(["search", "widget", "--json"], { env });
    const s2 = await runCli(["search", "widget", "--json"], { env });
    assert.deepEqual(s2.json, s1.json);
    assert.equal(s1.json.matches[0].source, "20260331-143022-12345-result.json");
    await Deno.writeTextFile(
      join(f.projects, "task-api", ".dispatch-logs", "last-result.txt"),
      "now with widgets\n",
    );
    const s3 = await runCli(["search", "widget", "--json"], { env });
    assert.equal(s3.json.matches[0].source, "last-result.txt");
  } finally {
    await f.cleanup();
  }
});

Deno.test("status totals come from the cache until a run is added, by dispatch-cc or by hand", async () => {
  const f = await fixture();
  const paths = { slug: "task-api", logsDir: join(f.projects, "task-api", ".dispatch-logs") };
  const cold = () => cachedRunsSummary(f.projects, paths, { cache: false });
  const warm = () => cachedRunsSummary(f.projects, paths, { racyMs: RACY_MS });
  try {
    await settle();
    const first = await warm();
    assert.deepEqual(first, await cold());
    assert.equal(first.run_count, 2);
    assert.equal(first.totals.cost_usd, 0.2468);
    // The last run resumed the first one's session: its own cost, for status without reading every run.
    assert.deepEqual(first.last_cost, { cost_usd: 0.1234, reported_cost_usd: 0.2468 });
    assert.ok(Deno.statSync(join(f.projects, INDEX_DIR, "index.db")).isFile);
    assert.deepEqual(await warm(), first);
    await settle();

    // A run of the earlier tool: one more result file.
    await Deno.writeTextFile(
      join(paths.logsDir, "20260402-080000-555-result.json"),
      JSON.stringify(seedResult({ total_cost_usd: 1, session_id: "a1b2c3d4-0000-4000-8000-000000000002" })),
    );
    const afterRun = await warm();
    assert.deepEqual(afterRun, await cold());
    assert.equal(afterRun.run_count, 3);
    assert.equal(afterRun.last_run_id, "20260402-080000-555");
    assert.equal(afterRun.totals.cost_usd, 1.2468);
    await settle();

    // runs.jsonl created, then appended to in place (the folder's mtime does not change on append).
    const line = (id: string, cost: number) =>
      JSON.stringify({ run_id: id, status: "success", cost_usd: cost, tokens: null }) + "\n";
    await Deno.writeTextFile(join(paths.logsDir, "runs.jsonl"), line("20260331-143022-12345", 5));
    assert.deepEqual(await warm(), await cold());
    await settle();
    await warm(); // cached with runs.jsonl in its key
    await Deno.writeTextFile(join(paths.logsDir, "runs.jsonl"), line("20260331-150000-12399", 7), {
      append: true,
    });
    const appended = await warm();
    assert.deepEqual(appended, await cold());
    // With a run index, a result file it does not list (555) is not a run (issue 11.3): 5 + 7.
    assert.equal(appended.totals.cost_usd, 12);
  } finally {
    await f.cleanup();
  }
});

Deno.test("list, search and status answer the same when the cache folder cannot be written", async () => {
  const f = await fixture();
  try {
    // A plain file where the cache folder would be: every write into it fails (even for root).
    await Deno.writeTextFile(join(f.projects, INDEX_DIR), "not a folder");
    await settle();
    const env = baseEnv({ projects: f.projects, home: f.path });
    const cold = await listProjects(f.projects, { cache: false });
    for (let i = 0; i < 2; i++) {
      const list = await runCli(["list", "--json"], { env });
      assert.equal(list.code, 0, list.stderr);
      assert.equal(list.stderr, "");
      assert.deepEqual(list.json.projects, JSON.parse(JSON.stringify(cold.entries)));
      const search = await runCli(["search", "widget", "--json"], { env });
      assert.equal(search.code, 0, search.stderr);
      assert.equal(search.json.matches[0].source, "20260331-143022-12345-result.json");
      const status = await runCli(["status", "--slug", "task-api", "--json"], { env });
      assert.equal(status.code, 0, status.stderr);
      assert.equal(status.json.totals.cost_usd, 0.2468);
      assert.equal(status.json.runs, 2);
    }
    assert.equal(await Deno.readTextFile(join(f.projects, INDEX_DIR)), "not a folder");
    assert.deepEqual(
      (await listProjects(f.projects, { racyMs: RACY_MS })).entries,
      cold.entries,
    );
  } finally {
    await f.cleanup();
  }
});

Deno.test("the trigram index finds what a scan of every text finds, whatever the letters", async () => {
  const t = await tempDir();
  const projects = join(t.path, "projects");
  let seed = 7;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  // Letters whose lower case is longer, depends on context, or is another script's: ASCII needles must
  // still find them where JavaScript's lower-casing does.
  const words = [
    "Tests",
    "İstanbul",
    "ΟΔΟΣ",
    "σς",
    "\u212Aelvin",
    "ǅ",
    "ß",
    "STRASSE",
    "x\ny",
    " ",
    "ﬁle",
    "Æsir",
    "quo uok okk kka", // every trigram of "quokka", apart: the index keeps no positions
  ];
  const text = () => Array.from({ length: rnd(8) }, () => words[rnd(words.length)]).join(rnd(2) ? " " : "");
  try {
    for (let i = 0; i < 30; i++) {
      await writeSeedProject(projects, `p${i}`, {
        description: text(),
        lastResult: text(),
        runs: [{
          stamp: `20260401-0900${String(i).padStart(2, "0")}`,
          pid: i,
          result: seedResult({ result: text() }),
        }],
      });
    }
    await settle();
    for (
      const w of [
        "tests",
        "i̇stanbul",
        "istanbul",
        "οδος",
        "οδοσ",
        "σς",
        "kelvin",
        "ǆ",
        "ß",
        "strasse",
        "x\ny",
        "file",
        "æsir",
        "sir",
        "quokka",
      ]
    ) {
      assert.deepEqual(
        await searchAll(projects, w, true),
        await searchAll(projects, w, false),
        `search ${w}`,
      );
    }
  } finally {
    await t.cleanup();
  }
});

Deno.test("a FIFO or a device in place of a project file is a problem of that project, not a hung list", async () => {
  const f = await fixture();
  try {
    const logs = (slug: string) => join(f.projects, slug, ".dispatch-logs");
    await Deno.remove(join(logs("other"), "project.json"));
    const fifo = new Deno.Command("mkfifo", { args: [join(logs("other"), "project.json")] });
    assert.equal((await fifo.output()).code, 0);
    await Deno.remove(join(logs("task-api"), "last-result.txt"));
    await Deno.symlink("/dev/zero", join(logs("task-api"), "last-result.txt"));
    await Deno.symlink("/dev/zero", join(logs("task-api"), "20260402-080000-555-result.json"));
    await settle();
    const other = (await listProjects(f.projects, { racyMs: RACY_MS })).entries.find((e) =>
      e.slug === "other"
    );
    assert.deepEqual(other?.problems, ["project.json not a regular file (a FIFO)"]);
    await assertSameAsCold(f.projects, "a FIFO and devices in place of project files");
    const found = (await searchAll(f.projects, "widget", true)).find((r) => r.slug === "task-api");
    assert.ok(
      found?.problems.includes("20260402-080000-555-result.json not a regular file (a character device)"),
    );
  } finally {
    await f.cleanup();
  }
});

Deno.test("a symlinked project folder is no project for list, search and status alike", async () => {
  const f = await fixture();
  try {
    const elsewhere = join(f.path, "elsewhere");
    await writeSeedProject(elsewhere, "linked", { description: "widget linked in", runs: [] });
    await Deno.symlink(join(elsewhere, "linked"), join(f.projects, "linked"));
    await settle();
    const env = baseEnv({ projects: f.projects, home: f.path });
    const status = await runCli(["status", "--slug", "linked", "--json"], { env });
    assert.equal(status.code, 2, status.stderr); // refused (src/sandbox/project_folder.ts)
    assert.match(status.stderr, /symbolic link/);
    await indexProject(f.projects, "linked"); // a run's end in it (were one let through) indexes nothing
    for (const cache of [false, true, true]) {
      const list = await listProjects(f.projects, { cache, racyMs: RACY_MS });
      assert.deepEqual(list.entries.map((e) => e.slug), ["bare", "broken", "other", "task-api"]);
      const found = await searchAll(f.projects, "linked", cache);
      assert.deepEqual(found.filter((r) => r.slug === "linked"), []);
    }
  } finally {
    await f.cleanup();
  }
});

Deno.test("hundreds of projects read and stored a batch at a time give the cold scan's answers", async () => {
  const t = await tempDir();
  const projects = join(t.path, "projects");
  try {
    for (let i = 0; i < 600; i++) {
      const logs = join(projects, `p${String(i).padStart(3, "0")}`, ".dispatch-logs");
      await Deno.mkdir(logs, { recursive: true });
      await Deno.writeTextFile(join(logs, "project.json"), JSON.stringify({ description: `widget ${i}` }));
      if (i % 7 === 0) await Deno.writeTextFile(join(logs, "last-result.txt"), `widget result ${i}\n`);
    }
    await settle();
    const first = await listProjects(projects, { racyMs: RACY_MS });
    assert.equal(first.read, 600);
    assert.deepEqual(first.entries, (await listProjects(projects, { cache: false })).entries);
    assert.deepEqual((await listLines(projects, { racyMs: RACY_MS })).read, 0);
    await Deno.remove(join(projects, INDEX_DIR), { recursive: true });
    assert.deepEqual(
      (await listLines(projects, { racyMs: RACY_MS })).entries,
      (await listLines(projects, { cache: false })).entries,
    );
    for (let pass = 0; pass < 2; pass++) {
      assert.deepEqual(await searchAll(projects, "widget", true), await searchAll(projects, "widget", false));
    }
  } finally {
    await t.cleanup();
  }
});

Deno.test("list's lines come in JavaScript's order of slugs, which SQLite's differs from for rare letters", async () => {
  const t = await tempDir();
  const projects = join(t.path, "projects");
  try {
    // U+FFFD sorts before U+1F600 in UTF-8 bytes (SQLite), after it in UTF-16 units (JavaScript).
    for (const slug of ["a", "z\u{1F600}", "z\uFFFD", "zz"]) {
      await writeSeedProject(projects, slug, { description: slug, runs: [] });
    }
    await settle();
    for (const cache of [false, true, true]) {
      const slugs = (await listLines(projects, { cache, racyMs: RACY_MS })).entries.map((e) => e.slug);
      assert.deepEqual(slugs, ["a", "zz", "z\u{1F600}", "z\uFFFD"], `cache ${cache}`); // SQLite: ..., FFFD, 1F600
    }
  } finally {
    await t.cleanup();
  }
});
