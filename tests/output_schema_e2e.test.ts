/**
 * Structured output end to end (issue 16 part 1): the real Claude Code CLI against the scripted endpoint.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "./support/cli.ts";
import { startE2E } from "./support/e2e.ts";

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);
const SCHEMA = {
  type: "object",
  properties: { ok: { type: "boolean" }, files: { type: "integer" } },
  required: ["ok", "files"],
};

Deno.test("run --output-schema: the StructuredOutput call's object is the result's structured_output", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("so", [
      { toolUse: { name: "StructuredOutput", input: { ok: true, files: 2 } } },
      { text: "Reported." },
    ]);
    const schemaFile = join(e.root, "schema.json");
    await Deno.writeTextFile(schemaFile, JSON.stringify(SCHEMA));
    const r = await runCli(
      [
        "run",
        "--slug",
        "so",
        "--prompt",
        "Report [[mock:so]]",
        "--output-schema",
        `@${schemaFile}`,
        "--json",
      ],
      { env: e.env },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.status, "success");
    assert.deepEqual(r.json.structured_output, { ok: true, files: 2 });
    // The schema reached Claude Code, which offered the tool to the model.
    const req = e.api.mainRequests("so")[0];
    const tool = req.body.tools.find((t: { name: string }) => t.name === "StructuredOutput");
    assert.ok(tool, "the StructuredOutput tool was offered");
    assert.deepEqual(tool.input_schema.required, ["ok", "files"]);
    const record = JSON.parse(await Deno.readTextFile(r.json.record_file));
    assert.deepEqual(record.structured_output, { ok: true, files: 2 });
  } finally {
    await e.cleanup();
  }
});

Deno.test("an invalid --output-schema is a usage error before anything runs, nothing written", async () => {
  const e = await startE2E();
  try {
    for (
      const [schema, message] of [
        ['{"type": "objekt"}', /not a valid JSON Schema/],
        ["{type: object}", /not JSON/],
        ['["a"]', /must be a JSON object/],
        ["@missing.json", /cannot read --output-schema @missing\.json/],
      ] as const
    ) {
      const r = await runCli(
        ["run", "--slug", "bad", "--prompt", "x", "--output-schema", schema, "--json"],
        { env: e.env, cwd: e.root },
      );
      assert.equal(r.code, 2, `${schema}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(await exists(join(e.projects, "bad")), false, "nothing written");
    }
    assert.equal(e.api.mainRequests().length, 0, "Claude Code never ran");
  } finally {
    await e.cleanup();
  }
});

Deno.test("a run that never returns a matching object ends as error with the reason", async () => {
  const e = await startE2E();
  try {
    // The model only ever answers in text: Claude Code asks again, then gives up.
    e.api.scenario("never", Array.from({ length: 12 }, () => ({ text: "Here is some prose instead." })));
    const r = await runCli(
      [
        "run",
        "--slug",
        "never",
        "--prompt",
        "Report [[mock:never]]",
        "--output-schema",
        JSON.stringify(SCHEMA),
        "--json",
      ],
      { env: e.env },
    );
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.json.status, "error");
    assert.match(r.json.error, /structured output|output schema/);
    assert.equal(r.json.structured_output, null);
  } finally {
    await e.cleanup();
  }
});
