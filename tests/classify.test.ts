import assert from "node:assert/strict";
import { classify as classifyFold, type Observed } from "../src/runner/classify.ts";
import { emptyFold, foldLine } from "../src/runner/fold.ts";
import { claudeParser } from "../src/agents/claude_code/stream.ts";

/** What these cases give: the final result object (a stdout line of Claude Code), or none. */
interface Case extends Omit<Observed, "fold" | "session"> {
  result: Record<string, unknown> | null;
  garbageLines: number;
  sawEvents: boolean;
}

const base: Case = {
  result: null,
  ended: "exit",
  exitCode: 0,
  signal: null,
  garbageLines: 0,
  sawEvents: true,
  stderrTail: "",
};

/** The stream the case describes (an init line, garbage, the result), folded, then classified. */
function classify(c: Case) {
  const parse = claudeParser();
  let fold = emptyFold();
  const lines = [
    ...(c.sawEvents ? [JSON.stringify({ type: "system", subtype: "init", session_id: "s" })] : []),
    ...Array(c.garbageLines).fill("not json"),
    ...(c.result ? [JSON.stringify(c.result)] : []),
  ];
  for (const l of lines) fold = foldLine(fold, parse(l));
  const { result: _r, garbageLines: _g, sawEvents: _s, ...rest } = c;
  return classifyFold({ ...rest, fold, session: "s" });
}
const result = (fields: Record<string, unknown>) => ({
  type: "result",
  subtype: "success",
  is_error: false,
  result: "done",
  session_id: "s",
  num_turns: 2,
  permission_denials: [],
  ...fields,
});

Deno.test("a clean success result is success with exit 0", () => {
  const o = classify({ ...base, result: result({}) });
  assert.equal(o.status, "success");
  assert.equal(o.exit_code, 0);
  assert.equal(o.error, null);
});

Deno.test("an API error (subtype success, is_error true) is an error with the API status and text", () => {
  const o = classify({
    ...base,
    exitCode: 1,
    result: result({
      is_error: true,
      result: "API Error: 500 overloaded",
      api_error_status: 500,
      terminal_reason: "api_error",
    }),
  });
  assert.equal(o.status, "error");
  assert.equal(o.exit_code, 1);
  assert.equal(o.api_error_status, 500);
  assert.match(o.error!, /API error 500: API Error: 500 overloaded/);
});

Deno.test("permission denials with exit 0 and is_error false make the run blocked, listed by tool", () => {
  const o = classify({
    ...base,
    result: result({
      permission_denials: [{
        tool_name: "Write",
        tool_use_id: "t1",
        tool_input: { file_path: "/etc/x", content: "y" },
      }],
    }),
  });
  assert.equal(o.status, "blocked");
  assert.equal(o.exit_code, 4);
  assert.deepEqual(o.permission_denials, [{
    tool: "Write",
    input: { file_path: "/etc/x", content: "y" },
    tool_use_id: "t1",
  }]);
});

Deno.test("max turns and budget subtypes are limit outcomes (exit 6)", () => {
  const t = classify({
    ...base,
    result: result({ subtype: "error_max_turns", is_error: true, result: undefined }),
  });
  assert.equal(t.status, "max_turns");
  assert.equal(t.exit_code, 6);
  const b = classify({
    ...base,
    result: result({ subtype: "error_max_budget_usd", is_error: true, total_cost_usd: 0.5 }),
  });
  assert.equal(b.status, "budget_exceeded");
  assert.equal(b.exit_code, 6);
});

Deno.test("error_during_execution without result text reports its errors", () => {
  const o = classify({
    ...base,
    result: result({
      subtype: "error_during_execution",
      is_error: true,
      result: undefined,
      errors: ["boom", "bang"],
    }),
  });
  assert.equal(o.status, "error");
  assert.equal(o.error, "boom; bang");
});

Deno.test("structured output retries exhausted is an error", () => {
  const o = classify({
    ...base,
    result: result({ subtype: "error_max_structured_output_retries", is_error: true }),
  });
  assert.equal(o.status, "error");
});

Deno.test("a timeout without a result is timeout (124) and says the session can be resumed", () => {
  const o = classify({
    ...base,
    result: null,
    ended: "timeout",
    exitCode: null,
    signal: "SIGTERM",
    timeoutS: 5,
  });
  assert.equal(o.status, "timeout");
  assert.equal(o.exit_code, 124);
  assert.match(o.error!, /timed out after 5 s.*resumed/);
});

Deno.test("SIGINT's error result is classified as interrupted, not as an error", () => {
  const o = classify({
    ...base,
    ended: "interrupted",
    result: result({ subtype: "error_during_execution", is_error: true }),
  });
  assert.equal(o.status, "interrupted");
  assert.equal(o.exit_code, 130);
});

Deno.test("cancelled runs exit 130 with status cancelled", () => {
  const o = classify({ ...base, ended: "cancelled", exitCode: null, signal: "SIGTERM" });
  assert.equal(o.status, "cancelled");
  assert.equal(o.exit_code, 130);
});

Deno.test("non-JSON output only is crashed, naming the unexpected output", () => {
  const o = classify({ ...base, sawEvents: false, garbageLines: 3 });
  assert.equal(o.status, "crashed");
  assert.equal(o.exit_code, 1);
  assert.match(o.error!, /no JSON events/);
});

Deno.test("events without a final result are crashed (truncated), with the stderr tail", () => {
  const o = classify({ ...base, exitCode: 2, stderrTail: "trace\nSegmentation fault\n" });
  assert.equal(o.status, "crashed");
  assert.match(o.error!, /exited with code 2 .*truncated.*Segmentation fault/);
});

Deno.test("nothing on stdout and a usage error on stderr is crashed with the message", () => {
  const o = classify({
    ...base,
    sawEvents: false,
    exitCode: 1,
    stderrTail: "error: unknown option '--bogus'\n",
  });
  assert.equal(o.status, "crashed");
  assert.match(o.error!, /printed nothing on stdout: error: unknown option/);
});

Deno.test("a process that could not be started is not_installed (127)", () => {
  const o = classify({ ...base, ended: "spawn_failed", spawnError: "No such file or directory" });
  assert.equal(o.status, "not_installed");
  assert.equal(o.exit_code, 127);
});

Deno.test("a result before the timeout fired is still a timeout: only the CLI's own exit 0 is success", () => {
  const o = classify({ ...base, ended: "timeout", result: result({}) });
  assert.equal(o.status, "timeout");
  assert.match(o.error!, /printed a result but did not exit/);
});

Deno.test("is_error false with an error_ subtype is still not success", () => {
  const o = classify({ ...base, result: result({ subtype: "error_during_execution", is_error: false }) });
  assert.equal(o.status, "error");
});
