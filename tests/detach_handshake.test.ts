/**
 * The hand-over of a detached run from its front end to its supervisor: a slow front end's writes never
 * land after the supervisor's, and a supervisor that cannot start is a one-line error with a documented
 * exit code that leaves no lock and no run behind.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../src/config.ts";
import { DispatchError, NotInstalledError } from "../src/errors.ts";
import {
  type DetachedRequest,
  startDetached,
  SUPERVISE_ARG,
  supervisorStartError,
} from "../src/runner/detach.ts";
import { blankRecord, type DispatchRequest } from "../src/runner/dispatch.ts";
import { acquireLock } from "../src/store/lock.ts";
import { projectPaths } from "../src/store/project.ts";
import { reserveRun, writeRecord } from "../src/store/runs.ts";
import { baseEnv, collect, spawnCli } from "./support/cli.ts";
import { sleep } from "./support/e2e.ts";
import { tempDir } from "./support/temp.ts";

const FAKE = fileURLToPath(new URL("./support/fake_claude.sh", import.meta.url));
const readJson = async (path: string) => JSON.parse(await Deno.readTextFile(path));
const quiet = { warn: () => {}, progress: () => {} };

Deno.test("a supervisor waits for a slow front end's last writes (past 3 s) before it takes over the run", async () => {
  const t = await tempDir();
  let child: Deno.ChildProcess | null = null;
  try {
    const projects = join(t.path, "projects");
    const paths = projectPaths(projects, "slow");
    await Deno.mkdir(paths.logsDir, { recursive: true });
    // What the front end does before it starts the supervisor (startDetached), this process being the
    // front end: take the lock, reserve the run, write the request.
    const lock = await acquireLock(paths.lock, { command: "run", run_id: "" }, { warn: () => {} });
    const started = new Date();
    const record = blankRecord(
      {
        slug: "slow",
        project_dir: paths.dir,
        command: "run",
        status: "starting",
        session_mode: "new",
        permission: "acceptEdits",
        timeout_s: 30,
      },
      started,
      true,
    );
    const files = await reserveRun(paths.logsDir, started, record);
    Object.assign(record, { run_id: files.runId, record_file: files.record });
    await writeRecord(files.record, record);
    await lock.update({ run_id: files.runId, detached: true });
    const payload: DispatchRequest = {
      command: "run",
      slug: "slow",
      prompt: "[[fake:ok]]",
      permission: "acceptEdits",
      timeoutS: 30,
      session: { mode: "new" },
    };
    const request: DetachedRequest = {
      version: 1,
      kind: "dispatch",
      run_id: files.runId,
      slug: "slow",
      command: "run",
      token: lock.info.token,
      projects_dir: projects,
      agent_bin: FAKE,
      payload,
    };
    const reqFile = join(paths.logsDir, `${files.runId}-request.json`);
    await Deno.writeTextFile(reqFile, JSON.stringify(request));
    child = spawnCli([SUPERVISE_ARG, reqFile], { env: baseEnv({ projects, home: t.path }) });

    // The front end is slow to write its last (a loaded machine): the supervisor must not start meanwhile.
    await sleep(4500);
    assert.equal(
      (await readJson(files.record)).status,
      "starting",
      "the supervisor started the run too early",
    );
    assert.equal((await readJson(paths.lock)).pid, Deno.pid);

    // The front end's last writes: the record, then the supervisor's pid in the lock.
    await writeRecord(files.record, { ...record, pid: child.pid });
    await lock.update({ pid: child.pid });
    const out = await collect(child);
    child = null;
    assert.equal(out.code, 0, out.stderr);
    const done = await readJson(files.record);
    assert.equal(done.status, "success");
    assert.ok(done.claude_pid > 0, "the supervisor's record was not overwritten");
    assert.equal(await Deno.stat(paths.lock).then(() => true, () => false), false, "the lock was released");
  } finally {
    if (child) {
      try {
        child.kill("SIGKILL");
      } catch { /* already ended */ }
      await collect(child);
    }
    await t.cleanup();
  }
});

Deno.test("a supervisor that cannot be started is exit 127 in one line; no lock, record or request is left", async () => {
  const t = await tempDir();
  try {
    const projects = join(t.path, "projects");
    const config = loadConfig(baseEnv({ projects, home: t.path }), t.path);
    const notExecutable = join(t.path, "not-executable");
    await Deno.writeTextFile(notExecutable, "#!/bin/sh\n", { mode: 0o644 });
    for (const cmd of [join(t.path, "missing"), notExecutable]) {
      await assert.rejects(
        () =>
          startDetached({
            kind: "dispatch",
            command: "run",
            slug: "nostart",
            payload: {},
            permission: "acceptEdits",
            timeoutS: 30,
            session: "new",
            config,
            agentBin: FAKE,
            reporter: quiet,
            signal: new AbortController().signal,
            self: { cmd, args: [] },
          }),
        (err: unknown) => {
          assert.ok(err instanceof NotInstalledError, String(err));
          assert.equal(err.exitCode, 127);
          assert.ok(!err.message.includes("\n"), err.message);
          assert.match(err.message, /cannot start the detached run's supervisor/);
          return true;
        },
      );
      const left = [...Deno.readDirSync(projectPaths(projects, "nostart").logsDir)].map((e) => e.name);
      assert.deepEqual(left, [], "nothing is left in .dispatch-logs");
    }
  } finally {
    await t.cleanup();
  }
});

Deno.test("a supervisor that fails to start for another reason is exit 1", () => {
  const err = supervisorStartError("/x/dispatch-cc", new Error("Resource temporarily unavailable\nmore"));
  assert.ok(err instanceof DispatchError && !(err instanceof NotInstalledError));
  assert.equal(err.exitCode, 1);
  assert.equal(err.message.includes("\n"), false);
});
