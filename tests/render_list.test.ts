/** The text of `list`: aligned columns, one line per project, descriptions on one line. */
import assert from "node:assert/strict";
import { renderList } from "../src/render/projects.ts";
import type { ListLine } from "../src/store/summary.ts";

const line = (over: Partial<ListLine>): ListLine => ({
  slug: "a",
  project_dir: "/p/a",
  description: null,
  updated: null,
  status: "none",
  totals: { runs: 0, cost_usd: 0, runs_without_cost: 0 },
  problems: [],
  ...over,
});

Deno.test("list lines: columns aligned, cost right-aligned, descriptions on one line", () => {
  const text = renderList([
    line({
      slug: "task-api",
      updated: "2026-03-31T14:31:07Z",
      status: "success",
      description: "Flask  REST\tAPI\nfor tasks",
      totals: { runs: 2, cost_usd: 0.2468, runs_without_cost: 0 },
    }),
    line({
      slug: "b",
      status: "crashed",
      description: "x".repeat(70),
      totals: { runs: 3, cost_usd: 12.5, runs_without_cost: 1 },
    }),
    line({ slug: "broken", description: "plain words", problems: ["project.json corrupt", "x missing"] }),
    line({ slug: "c", description: "\u00a0odd\u2028spaces " }),
  ], "/p");
  assert.equal(
    text,
    [
      "SLUG      LAST ACTIVITY         STATUS        COST  DESCRIPTION",
      "task-api  2026-03-31T14:31:07Z  success    $0.2468  Flask REST API for tasks",
      `b         -                     crashed  $12.5000+  ${"x".repeat(60)}`,
      "broken    -                     -                -  plain words  [project.json corrupt; x missing]",
      "c         -                     -                -   odd spaces",
    ].join("\n"),
  );
  assert.equal(renderList([], "/p"), "No projects in /p");
});
