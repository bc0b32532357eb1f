import assert from "node:assert/strict";
import { renderEvent } from "../src/render/transcript.ts";
import { limitResult, renderRun, runJson } from "../src/render/run.ts";
import type { RunRecord } from "../src/runner/dispatch.ts";
import { selfCommand } from "../src/runner/detach.ts";

const line = (v: unknown) => JSON.stringify(v);

Deno.test("a transcript renders assistant text, tool calls with their main argument, errors, denials and the result", () => {
  assert.deepEqual(
    renderEvent(
      line({ type: "system", subtype: "init", session_id: "s1", model: "m", permissionMode: "plan" }),
    ),
    [
      "== session s1 (m, plan mode)",
    ],
  );
  assert.deepEqual(
    renderEvent(line({
      type: "assistant",
      message: {
        content: [{ type: "text", text: "Let me look." }, {
          type: "tool_use",
          name: "Read",
          input: { file_path: "/p/a.ts" },
        }],
      },
    })),
    ["assistant: Let me look.", "-> Read /p/a.ts"],
  );
  assert.deepEqual(
    renderEvent(
      line({
        type: "assistant",
        message: { content: [{ type: "tool_use", name: "Bash", input: { command: "npm\n test" } }] },
      }),
    ),
    ["-> Bash npm test"],
  );
  assert.deepEqual(
    renderEvent(
      line({
        type: "user",
        message: { content: [{ type: "tool_result", is_error: true, content: "EROFS: read-only" }] },
      }),
    ),
    ["   tool error: EROFS: read-only"],
  );
  assert.deepEqual(
    renderEvent(line({ type: "user", message: { content: [{ type: "tool_result", content: "fine" }] } })),
    [],
  );
  assert.match(
    renderEvent(
      line({
        type: "system",
        subtype: "permission_denied",
        tool_name: "Write",
        tool_input: { file_path: "x" },
        message: "no",
      }),
    )[0],
    /DENIED Write x: no/,
  );
  const result = renderEvent(line({
    type: "result",
    subtype: "success",
    is_error: false,
    num_turns: 2,
    duration_ms: 1500,
    total_cost_usd: 0.01,
    result: "Done.",
    permission_denials: [],
  }));
  // The duration and cost are the record's (one figure everywhere), not the CLI's: not on this line.
  assert.deepEqual(result, ["== result: SUCCESS (2 turns)", "   Done."]);
  assert.deepEqual(renderEvent("garbage"), ["(not an event) garbage"]);
  assert.deepEqual(renderEvent(""), []);
});

Deno.test("results are cut for the caller: text by default at 2000, JSON only with a limit", () => {
  assert.deepEqual(limitResult("abcdef", 3), { text: "abc", truncated: true, chars: 6 });
  assert.deepEqual(limitResult("abc", undefined), { text: "abc", truncated: false, chars: 3 });
  assert.deepEqual(limitResult(null, 3), { text: null, truncated: false, chars: 0 });
  const rec = {
    status: "success",
    command: "run",
    slug: "s",
    exit_code: 0,
    project_dir: "/p",
    session_id: null,
    session_mode: "new",
    num_turns: 1,
    duration_ms: 1,
    cost_usd: 0,
    stop_reason: null,
    files_touched: [],
    error: null,
    permission_denials: [],
    ended_processes: [],
    record_file: "/p/r-run.json",
    result_file: "/p/r-result.json",
    result: "x".repeat(2500),
  } as unknown as RunRecord;
  const text = renderRun(rec);
  assert.match(text, /result cut at 2000 of 2500 characters; all of it is in \/p\/r-result\.json/);
  assert.ok(!text.includes("x".repeat(2001)));
  assert.ok(renderRun(rec, { resultLimit: 3000 }).includes("x".repeat(2500)));
  assert.equal(runJson(rec).result, rec.result);
  assert.equal(runJson(rec).result_truncated, false);
  assert.equal(runJson(rec, 10).result, "x".repeat(10));
  assert.equal(runJson(rec, 10).result_chars, 2500);
});

Deno.test("the supervisor is this program again: the binary itself when compiled, deno with the permission set from source", () => {
  assert.deepEqual(selfCommand(true), { cmd: Deno.execPath(), args: [] });
  const src = selfCommand(false, "file:///opt/dcc/src/runner/detach.ts");
  assert.equal(src.cmd, Deno.execPath());
  assert.deepEqual(src.args, [
    "run",
    "-P=dispatch",
    "--no-prompt",
    "--quiet",
    "--v8-flags=--max-semi-space-size=2",
    "--config",
    "/opt/dcc/deno.json",
    "/opt/dcc/src/main.ts",
  ]);
});
