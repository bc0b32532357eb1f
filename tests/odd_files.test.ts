/**
 * Project files that are not regular files (a FIFO, a symlink to /dev/zero) or are replaced while read:
 * every reader reports them for their project and goes on, never hangs, never reads without end.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readTranscript } from "../src/runner/watch.ts";
import { acquireLock } from "../src/store/lock.ts";
import { projectPaths } from "../src/store/project.ts";
import { baseEnv, runCli } from "./support/cli.ts";
import { seedResult, writeSeedProject } from "./support/seed_projects.ts";
import { tempDir } from "./support/temp.ts";

async function mkfifo(path: string) {
  assert.ok((await new Deno.Command("mkfifo", { args: [path] }).output()).success);
}

async function twoProjects() {
  const t = await tempDir();
  const projects = join(t.path, "projects");
  for (const slug of ["good", "odd"]) {
    await writeSeedProject(projects, slug, {
      description: `the ${slug} one`,
      sessionId: "0b3a2c1e-5f6d-4e7a-8b9c-0d1e2f3a4b5c",
      lastResult: "fine",
      runs: [{ stamp: "20260331-143022", pid: 4242, result: seedResult() }],
    });
  }
  return {
    ...t,
    projects,
    odd: join(projects, "odd", ".dispatch-logs"),
    env: baseEnv({ projects, home: t.path }),
  };
}

for (
  const [what, make] of [
    ["a FIFO", (p: string) => mkfifo(p)],
    ["a symlink to /dev/zero", (p: string) => Deno.symlink("/dev/zero", p)],
  ] as const
) {
  Deno.test(`project.json that is ${what}: list, search and status report it and go on`, async () => {
    const t = await twoProjects();
    try {
      const pj = join(t.odd, "project.json");
      await Deno.remove(pj);
      await make(pj);
      const list = await runCli(["list", "--json"], { env: t.env });
      assert.equal(list.code, 0, list.stderr);
      const slugs = list.json.projects.map((p: { slug: string }) => p.slug).sort();
      assert.deepEqual(slugs, ["good", "odd"]);
      assert.match(list.stdout + list.stderr, /not a regular file/);
      const search = await runCli(["search", "fine"], { env: t.env });
      assert.notEqual(search.code, 70, search.stderr);
      assert.match(search.stdout, /good/);
      const status = await runCli(["status", "--slug", "odd"], { env: t.env });
      assert.notEqual(status.code, 70, status.stderr);
      assert.match(
        status.stdout + status.stderr,
        /project\.json not a regular file|is a symbolic link: refused/,
      );
    } finally {
      await t.cleanup();
    }
  });

  Deno.test(`last-result.txt, runs.jsonl and the lock as ${what}: status and history report, never hang`, async () => {
    const t = await twoProjects();
    try {
      for (const name of ["last-result.txt", "runs.jsonl", "lock"]) {
        await Deno.remove(join(t.odd, name)).catch(() => {});
        await make(join(t.odd, name));
      }
      const status = await runCli(["status", "--slug", "odd", "--json"], { env: t.env });
      assert.notEqual(status.code, 70, status.stderr);
      assert.match(
        status.stdout + status.stderr,
        /last-result\.txt not a regular file|is a symbolic link: refused/,
      );
      const history = await runCli(["history", "--slug", "odd"], { env: t.env });
      assert.notEqual(history.code, 70, history.stderr);
    } finally {
      await t.cleanup();
    }
  });
}

Deno.test("logs --follow of a transcript truncated and then replaced reads each from its start, no fragments", async () => {
  const t = await tempDir();
  try {
    const paths = projectPaths(join(t.path, "projects"), "p");
    await Deno.mkdir(paths.logsDir, { recursive: true });
    const id = "20261207-120000-4242";
    const record = join(paths.logsDir, `${id}-run.json`);
    const transcript = join(paths.logsDir, `${id}-events.jsonl`);
    const rec = {
      run_id: id,
      status: "running",
      exit_code: 0,
      command: "run",
      started: new Date().toISOString(),
    };
    await Deno.writeTextFile(record, JSON.stringify(rec));
    const lock = await acquireLock(paths.lock, { command: "run", run_id: id }, { warn: () => {} });
    await Deno.writeTextFile(transcript, '{"n":"first-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}\n');
    const seen: string[] = [];
    const reading = readTranscript(paths, id, (l) => seen.push(l), { follow: true, pollMs: 20 });
    const until = async (n: number) => {
      for (let i = 0; i < 500 && seen.length < n; i++) await new Promise((r) => setTimeout(r, 20));
    };
    await until(1);
    // Truncated: a shorter file from the start.
    await Deno.writeTextFile(transcript, '{"n":"second"}\n');
    await until(2);
    // Grows past the old length: must be read from its start, not from the old offset.
    await Deno.writeTextFile(transcript, '{"n":"third"}\n', { append: true });
    await Deno.writeTextFile(transcript, '{"n":"fourth-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}\n', {
      append: true,
    });
    await until(4);
    // Replaced by another file (rename over it).
    await Deno.writeTextFile(transcript + ".new", '{"n":"fifth"}\n');
    await Deno.rename(transcript + ".new", transcript);
    await until(5);
    await Deno.writeTextFile(
      record,
      JSON.stringify({ ...rec, status: "success", ended: new Date().toISOString() }),
    );
    await lock.release();
    await reading;
    assert.deepEqual(seen.map((l) => JSON.parse(l).n.split("-")[0]), [
      "first",
      "second",
      "third",
      "fourth",
      "fifth",
    ]);
  } finally {
    await t.cleanup();
  }
});
