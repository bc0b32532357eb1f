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
