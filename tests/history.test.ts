import assert from "node:assert/strict";
import { join } from "node:path";
import {
  appendHistory,
  projectTotals,
  readHistory,
  startFromRunId,
  tokenCounts,
} from "../src/store/history.ts";
import { tempDir } from "./support/temp.ts";

const legacy = (cost: number, extra: object = {}) =>
  JSON.stringify({
    type: "result",
    subtype: "success",
    is_error: false,
    num_turns: 2,
    duration_ms: 1000,
    total_cost_usd: cost,
    session_id: "11111111-1111-4111-8111-111111111111",
    usage: { input_tokens: 10, output_tokens: 5 },
    ...extra,
  });

Deno.test("history is rebuilt from the earlier tool's result files when there is no index", async () => {
  const t = await tempDir();
  try {
    await Deno.writeTextFile(join(t.path, "20260331-143022-12345-result.json"), legacy(0.5));
    await Deno.writeTextFile(
      join(t.path, "20260331-143500-12346-result.json"),
      legacy(0.25, { is_error: true }),
    );
    await Deno.writeTextFile(join(t.path, "20260331-144000-12347-result.json"), "{broken");
    const h = await readHistory(t.path);
    assert.equal(h.indexed, false);
    assert.deepEqual(h.entries.map((e) => e.status), ["success", "error", "corrupt"]);
    assert.equal(h.problems.length, 1);
    assert.equal(h.entries[0].started, new Date(2026, 2, 31, 14, 30, 22).toISOString());
    const totals = await projectTotals(t.path);
    assert.equal(totals.runs, 3);
    assert.equal(totals.cost_usd, 0.75);
    assert.equal(totals.runs_without_cost, 1);
    assert.equal(totals.tokens.total, 30);
  } finally {
    await t.cleanup();
  }
});

Deno.test("the first append writes the earlier runs into the index, later appends add one line; a torn line is skipped, not fatal", async () => {
  const t = await tempDir();
  try {
    await Deno.writeTextFile(join(t.path, "20260331-143022-12345-result.json"), legacy(0.5));
    const entry = {
      run_id: "20260401-090000-777",
      command: "run",
      status: "success",
      exit_code: 0,
      started: "2026-04-01T09:00:00.000Z",
      ended: "2026-04-01T09:01:00.000Z",
      duration_ms: 60000,
      num_turns: 4,
      cost_usd: 1,
      tokens: tokenCounts({ input_tokens: 100, output_tokens: 50 }),
      session_id: null,
      model: "m",
      detached: true,
    };
    await appendHistory(t.path, entry);
    let lines = (await Deno.readTextFile(join(t.path, "runs.jsonl"))).trim().split("\n");
    assert.equal(lines.length, 2);
    await Deno.writeTextFile(join(t.path, "runs.jsonl"), '{"run_id": "torn', { append: true });
    await appendHistory(t.path, { ...entry, run_id: "20260401-100000-778", cost_usd: 2 });
    lines = (await Deno.readTextFile(join(t.path, "runs.jsonl"))).trim().split("\n");
    assert.equal(lines.length, 4, "the new entry starts on a line of its own");
    const h = await readHistory(t.path);
    assert.equal(h.indexed, true);
    assert.deepEqual(h.entries.map((e) => e.run_id), [
      "20260331-143022-12345",
      "20260401-090000-777",
      "20260401-100000-778",
    ]);
    assert.equal(h.problems.length, 1);
  } finally {
    await t.cleanup();
  }
});

Deno.test("startFromRunId reads the local stamp of a run id", () => {
  assert.equal(startFromRunId("20260331-143022-12345.2"), new Date(2026, 2, 31, 14, 30, 22).toISOString());
  assert.equal(startFromRunId("nonsense"), null);
});

Deno.test("a run whose record says running with no dispatcher holding the lock shows as abandoned", async () => {
  const t = await tempDir();
  try {
    await Deno.writeTextFile(
      join(t.path, "20260401-090000-999999-run.json"),
      JSON.stringify({
        run_id: "20260401-090000-999999",
        command: "run",
        status: "running",
        started: "2026-04-01T09:00:00Z",
      }),
    );
    const h = await readHistory(t.path);
    assert.equal(h.entries[0].status, "abandoned");
  } finally {
    await t.cleanup();
  }
});
