/**
 * Robustness end to end, with the real Claude Code CLI against the scripted endpoint: what escapes a run
 * cannot hold it, cancel finds its dispatcher however it was started, the user's environment refusing a
 * write is said as such.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "./support/cli.ts";
import { processesMatching, startE2E } from "./support/e2e.ts";

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
