/**
 * Robustness end to end, with the real Claude Code CLI against the scripted endpoint: what escapes a run
 * cannot hold it, cancel finds its dispatcher however it was started, the user's environment refusing a
 * write is said as such.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { CONFIG, REPO, runCli, spawnCli } from "./support/cli.ts";
import { processesMatching, startE2E, until } from "./support/e2e.ts";

for (const how of ["success", "timeout"] as const) {
  Deno.test(`a tool's process that escaped the marker and holds Claude Code's stdout: the run still ends (${how}), the holder is a reported leftover`, async () => {
    const e = await startE2E();
    try {
      const tag = `sleep ${300000 + Math.floor(Math.random() * 90000)}`;
      e.api.scenario("escape", [
        {
          toolUse: {
            name: "Bash",
            input: {
              command: `env -i setsid ${tag} > /proc/$PPID/fd/1 2>/dev/null &`,
              description: "escape",
            },
          },
        },
        // On a timeout the deadline comes while the model answers, after the Bash call ended (Claude
        // Code's own TERM handling ends the processes of a call still running).
        how === "timeout" ? { text: "late", delayMs: 120_000 } : { text: "Left something behind." },
      ]);
      const r = await runCli(
        [
          "run",
          "--slug",
          "esc",
          "--prompt",
          "Go [[mock:escape]]",
          "--allowed-tools",
          "Bash",
          "--timeout",
          how === "timeout" ? "25" : "120",
          "--json",
        ],
        { env: e.env },
      );
      assert.equal(r.json?.status, how, r.stderr);
      assert.equal(e.api.mainRequests("escape").length, 2, "the Bash call ran");
      assert.ok(
        r.json.ended_processes.some((p: { command: string }) => p.command.includes(tag)),
        `the holder is named: ${JSON.stringify(r.json.ended_processes)}`,
      );
      assert.deepEqual(await processesMatching(tag), [], "and ended");
      assert.equal(
        await Deno.stat(join(e.projects, "esc", ".dispatch-logs", "lock")).catch(() => null),
        null,
      );
    } finally {
      await e.cleanup();
    }
  });
}

const ROOT = Deno.build.os === "linux" && Deno.uid() === 0;

async function sh(cmd: string): Promise<void> {
  const out = await new Deno.Command("/bin/sh", { args: ["-c", cmd], stderr: "piped" }).output();
  assert.ok(out.success, `${cmd}: ${new TextDecoder().decode(out.stderr)}`);
}

Deno.test({
  name: "a disk that fills up mid-run: exit 74, one line, and the record says crashed with the reason",
  ignore: !ROOT,
  async fn() {
    const e = await startE2E();
    const mnt = join(e.root, "small");
    try {
      await Deno.mkdir(mnt);
      await sh(`mount -t tmpfs -o size=96k tmpfs '${mnt}'`);
      const env = { ...e.env, DISPATCH_PROJECTS_DIR: mnt };
      e.api.scenario("big", [{ text: "x".repeat(200_000) }]);
      const r = await runCli(["run", "--slug", "full", "--prompt", "Go [[mock:big]]"], { env });
      assert.equal(r.code, 74, r.stderr);
      assert.match(r.stderr, /the disk is full/);
      assert.doesNotMatch(r.stderr, /internal error|please report|\n\s+at /);
      const logs = join(mnt, "full", ".dispatch-logs");
      const record = [...Deno.readDirSync(logs)].find((f) => f.name.endsWith("-run.json"))!;
      const rec = JSON.parse(await Deno.readTextFile(join(logs, record.name)));
      assert.equal(rec.status, "crashed");
      assert.equal(rec.exit_code, 74);
      assert.match(rec.error, /the disk is full/);
      const status = await runCli(["status", "--slug", "full", "--json"], { env });
      assert.match(status.stdout, /crashed/);
      assert.doesNotMatch(status.stdout, /abandoned/);
    } finally {
      await sh(`umount '${mnt}'`).catch(() => {});
      await e.cleanup();
    }
  },
});

Deno.test({
  name: "a read-only projects folder: exit 74 and one clear line, not an internal error",
  ignore: !ROOT,
  async fn() {
    const e = await startE2E();
    const mnt = join(e.root, "ro");
    try {
      await Deno.mkdir(mnt);
      await sh(`mount -t tmpfs -o size=1m tmpfs '${mnt}'`);
      const env = { ...e.env, DISPATCH_PROJECTS_DIR: mnt };
      e.api.scenario("ok", [{ text: "fine" }]);
      const first = await runCli(["run", "--slug", "p", "--prompt", "Go [[mock:ok]]"], { env });
      assert.equal(first.code, 0, first.stderr);
      await sh(`mount -o remount,ro '${mnt}'`);
      for (
        const args of [["run", "--slug", "p", "--prompt", "Go [[mock:ok]]"], [
          "run",
          "--slug",
          "q",
          "--prompt",
          "x",
        ]]
      ) {
        const r = await runCli(args, { env });
        assert.equal(r.code, 74, r.stderr);
        assert.match(r.stderr, /read-only/);
        assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      }
      const json = await runCli(["run", "--slug", "p", "--prompt", "Go [[mock:ok]]", "--json"], { env });
      assert.equal(json.json.error.kind, "environment");
    } finally {
      await sh(`umount '${mnt}'`).catch(() => {});
      await e.cleanup();
    }
  },
});

async function exitOf(child: Deno.ChildProcess): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await child.output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

async function historyLines(projects: string, slug: string): Promise<string[]> {
  const text = await Deno.readTextFile(join(projects, slug, ".dispatch-logs", "runs.jsonl")).catch(() => "");
  return text.split("\n").filter((l) => l.trim() !== "");
}

Deno.test("cancel stops a foreground run started the README's from-source way (deno task, relative src/main.ts): cancelled, 130, one history line", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("long", [{ text: "late", delayMs: 120_000 }]);
    // `deno task dispatch-cc` runs `deno run ... src/main.ts` in the repository's folder.
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "task",
        "-q",
        "--config",
        CONFIG,
        "dispatch-cc",
        "run",
        "--slug",
        "fg",
        "--prompt",
        "x [[mock:long]]",
      ],
      env: e.env,
      clearEnv: true,
      cwd: REPO,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    assert.ok(await until(() => e.api.mainRequests("long").length > 0, 60_000), "the run reached the API");
    // A first run going on has no result yet: not a problem (issue 13 item 13).
    const status = await runCli(["status", "--slug", "fg", "--json"], { env: e.env });
    assert.doesNotMatch(status.stdout, /last-result\.txt missing/);
    // wait's "still running" is said once, on stderr; stdout stays empty without --json.
    const w = await runCli(["wait", "--slug", "fg", "--timeout", "1"], { env: e.env });
    assert.equal(w.code, 7, w.stderr);
    assert.equal(w.stdout.trim(), "");
    assert.equal(w.stderr.match(/still running/g)?.length, 1, w.stderr);
    const c = await runCli(["cancel", "--slug", "fg", "--grace", "60", "--json"], { env: e.env });
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.json.cancelled, true);
    assert.equal(c.json.forced, false, "the dispatcher itself recorded the cancel");
    assert.equal(c.json.dispatcher, "ours");
    const run = await exitOf(child);
    assert.equal(run.code, 130, run.stderr);
    // The run index has the run's reservation line ("running") and exactly one ending, by its dispatcher
    // (the old bug: cancel wrote a "crashed" ending of its own beside the dispatcher's).
    const lines = (await historyLines(e.projects, "fg")).map((l) => JSON.parse(l));
    assert.equal(new Set(lines.map((l) => l.run_id)).size, 1, JSON.stringify(lines));
    const endings = lines.filter((l) => l.status !== "running");
    assert.equal(endings.length, 1, JSON.stringify(lines));
    assert.equal(endings[0].status, "cancelled");
    assert.equal(lines.at(-1).status, "cancelled");
  } finally {
    await e.cleanup();
  }
});

Deno.test("after kill -9 of the dispatcher the lock message points to cancel, and cancel does not wait for a process it knows is gone", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("long", [{ text: "late", delayMs: 120_000 }]);
    e.api.scenario("next", [{ text: "next" }]);
    const child = spawnCli(["run", "--slug", "k9", "--prompt", "x [[mock:long]]"], { env: e.env });
    assert.ok(await until(() => e.api.mainRequests("long").length > 0, 60_000));
    child.kill("SIGKILL");
    await child.output();
    const blocked = await runCli(["run", "--slug", "k9", "--prompt", "y [[mock:next]]", "--json"], {
      env: e.env,
    });
    assert.equal(blocked.code, 5, blocked.stderr);
    assert.match(blocked.json.error.message, /dispatch-cc cancel --slug k9/);
    // A grace period far longer than the test may take: waited out, the test would not finish.
    const c = await runCli(["cancel", "--slug", "k9", "--grace", "100000", "--json"], { env: e.env });
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.json.cancelled, true);
    assert.equal(c.json.dispatcher, "gone");
    assert.equal(c.json.record.status, "cancelled");
    // The reservation line, then cancel's one ending for the run whose dispatcher is gone.
    const k9 = (await historyLines(e.projects, "k9")).map((l) => JSON.parse(l));
    assert.equal(new Set(k9.map((l) => l.run_id)).size, 1, JSON.stringify(k9));
    assert.deepEqual(k9.filter((l) => l.status !== "running").map((l) => l.status), ["cancelled"]);
    const after = await runCli(["run", "--slug", "k9", "--prompt", "y [[mock:next]]", "--json"], {
      env: e.env,
    });
    assert.equal(after.code, 0, after.stderr);
  } finally {
    await e.cleanup();
  }
});

Deno.test("a caller in another time zone sees a live run as live (wait, cancel, lock), and runs stay in start order across TZ", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("long", [{ text: "late", delayMs: 120_000 }]);
    e.api.scenario("quick", [{ text: "quick" }]);
    const utc = { ...e.env, TZ: "UTC" };
    const tokyo = { ...e.env, TZ: "Asia/Tokyo" };
    const child = spawnCli(["run", "--slug", "tz", "--prompt", "x [[mock:long]]"], { env: utc });
    assert.ok(await until(() => e.api.mainRequests("long").length > 0, 60_000));
    const w = await runCli(["wait", "--slug", "tz", "--timeout", "1", "--json"], { env: tokyo });
    assert.equal(w.code, 7, w.stderr);
    const second = await runCli(["run", "--slug", "tz", "--prompt", "y [[mock:quick]]", "--json"], {
      env: tokyo,
    });
    assert.equal(second.code, 5, second.stderr);
    const c = await runCli(["cancel", "--slug", "tz", "--json"], { env: tokyo });
    assert.equal(c.json.cancelled, true, c.stdout);
    assert.equal((await exitOf(child)).code, 130);
    // A later run from Tokyo (local time 9 h ahead), then one from New York (5 h behind): the last is last.
    const a = await runCli(["run", "--slug", "tz", "--prompt", "a [[mock:quick]]", "--json"], { env: tokyo });
    const b = await runCli(["run", "--slug", "tz", "--prompt", "b [[mock:quick]]", "--json"], {
      env: { ...e.env, TZ: "America/New_York" },
    });
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const last = await runCli(["wait", "--slug", "tz", "--json"], { env: tokyo });
    assert.equal(last.json.run_id, b.json.run_id);
    const hist = await runCli(["history", "--slug", "tz", "--json"], { env: utc });
    const ids = hist.json.runs.map((r: { run_id: string }) => r.run_id);
    // Oldest first: the Tokyo run before the New York one.
    assert.deepEqual(ids.slice(-2), [a.json.run_id, b.json.run_id]);
  } finally {
    await e.cleanup();
  }
});

Deno.test("cancel --slug A of a foreground apply --parallel of A and B stops A only; B finishes", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("pa", [{ text: "late", delayMs: 120_000 }]);
    e.api.scenario("pb", [{ text: "B done.", delayMs: 6000 }]);
    const file = join(e.root, "two.yaml");
    await Deno.writeTextFile(file, "slug: pa\nprompt: A [[mock:pa]]\n---\nslug: pb\nprompt: B [[mock:pb]]\n");
    const applying = spawnCli(["apply", file, "--parallel", "2", "--json"], { env: e.env });
    assert.ok(
      await until(() => e.api.mainRequests("pa").length > 0 && e.api.mainRequests("pb").length > 0, 60_000),
      "both slugs reached the API",
    );
    const c = await runCli(["cancel", "--slug", "pa", "--grace", "60", "--json"], { env: e.env });
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.json.cancelled, true);
    assert.equal(c.json.forced, false);
    const out = await exitOf(applying);
    const doc = JSON.parse(out.stdout);
    const statusOf = (slug: string) =>
      doc.tasks.find((t: { slug: string }) => t.slug === slug).steps[0].status;
    assert.equal(statusOf("pa"), "cancelled", out.stdout);
    assert.equal(statusOf("pb"), "success", out.stdout);
    const b = await runCli(["wait", "--slug", "pb", "--json"], { env: e.env });
    assert.equal(b.json.result, "B done.");
  } finally {
    await e.cleanup();
  }
});

Deno.test("--max-turns 1 reports the one turn that ran", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("mt", [
      { toolUse: { name: "Bash", input: { command: "true", description: "t" } } },
      { text: "never" },
    ]);
    const r = await runCli(
      [
        "run",
        "--slug",
        "mt",
        "--prompt",
        "Go [[mock:mt]]",
        "--max-turns",
        "1",
        "--allowed-tools",
        "Bash",
        "--json",
      ],
      { env: e.env },
    );
    assert.equal(r.json?.status, "max_turns", r.stderr);
    assert.equal(e.api.mainRequests("mt").length, 1);
    assert.equal(r.json.num_turns, 1);
  } finally {
    await e.cleanup();
  }
});
