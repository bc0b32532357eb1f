import assert from "node:assert/strict";
import {
  DURATION_PATTERN,
  flattenIssues,
  FollowUpSchema,
  parseDuration,
  PERMISSION_ALIASES,
  ReviewSchema,
  SandboxSchema,
  SLUG_PATTERN,
  SlugSchema,
  TaskSpecSchema,
} from "../src/spec/schema.ts";
import { taskJsonSchema, taskJsonSchemaText } from "../src/spec/json_schema.ts";
import { schemaText } from "../src/spec/commands.ts";
import { closestMatch, editDistance } from "../src/suggest.ts";
import { parsePermission, PERMISSION_MODES } from "../src/sandbox/permission.ts";
import { slugProblem } from "../src/store/slug.ts";

const SCHEMA_FILE = new URL("../tasks.example/task.schema.json", import.meta.url);

/** The messages zod reports for `input`, as "path: message". */
function messages(input: unknown): string[] {
  const result = TaskSpecSchema.safeParse(input);
  assert.equal(result.success, false, "expected the input to be refused");
  return flattenIssues(result.error!.issues).map((i) => `${i.path.join(".")}: ${i.message}`);
}

function parse(input: unknown) {
  const result = TaskSpecSchema.safeParse(input);
  assert.ok(result.success, JSON.stringify(result.error?.issues));
  return result.data;
}

Deno.test("parseDuration reads seconds, minutes and hours", () => {
  assert.equal(parseDuration("10m"), 600);
  assert.equal(parseDuration("90s"), 90);
  assert.equal(parseDuration("1h"), 3600);
  assert.equal(parseDuration("1.5m"), 90);
  assert.equal(parseDuration("45"), 45);
  assert.equal(parseDuration(" 2h "), 7200);
});

Deno.test("parseDuration refuses zero, negative, unknown units and text", () => {
  for (const bad of ["0s", "0", "-1m", "10d", "abc", "", "1h30m", "m"]) {
    assert.throws(() => parseDuration(bad), RangeError, bad);
  }
});

Deno.test("a task with every field parses and normalizes", () => {
  const spec = parse({
    slug: "todo-api",
    description: "TODO API",
    prompt: "Build it",
    system_prompt: "Be brief",
    permission: "dangerously-skip-permissions",
    allowed_tools: ["Read", "Bash(git log:*)"],
    disallowed_tools: ["WebFetch"],
    model: "opus",
    timeout: "10m",
    max_turns: 12,
    max_budget_usd: 1.5,
    env: ["GITHUB_TOKEN", "_X1"],
    sandbox: { network: false },
    follow_ups: ["Add tests", {
      prompt_file: "more.md",
      timeout: 90,
      permission: "plan",
      model: "sonnet",
      max_turns: 3,
      when: "always",
    }],
    review: { prompt: "Review it", model: "opus", permission: "default" },
  });
  assert.deepEqual(spec, {
    slug: "todo-api",
    description: "TODO API",
    prompt: "Build it",
    system_prompt: "Be brief",
    permission: "bypassPermissions",
    allowed_tools: ["Read", "Bash(git log:*)"],
    disallowed_tools: ["WebFetch"],
    model: "opus",
    timeout: 600,
    max_turns: 12,
    max_budget_usd: 1.5,
    env: ["GITHUB_TOKEN", "_X1"],
    sandbox: { enabled: true, network: false },
    follow_ups: [
      { prompt: "Add tests", when: "success" },
      {
        prompt_file: "more.md",
        timeout: 90,
        permission: "plan",
        model: "sonnet",
        max_turns: 3,
        when: "always",
      },
    ],
    review: { prompt: "Review it", model: "opus", permission: "default" },
  });
});

Deno.test("a minimal task needs only slug and prompt or prompt_file", () => {
  assert.deepEqual(parse({ slug: "a", prompt: "x" }), { slug: "a", prompt: "x" });
  assert.deepEqual(parse({ slug: "a", prompt_file: "p.md" }), { slug: "a", prompt_file: "p.md" });
});

Deno.test("slug follows the CLI rules", () => {
  for (const good of ["a", "A.b_c-1", "x".repeat(100), "v1.2", "a.b"]) {
    assert.ok(SlugSchema.safeParse(good).success, good);
    assert.ok(SLUG_PATTERN.test(good), good);
  }
  const cases: [string, RegExp][] = [
    ["", /^must not be empty$/],
    [".", /must not start with "\."/],
    ["..", /must not contain "\.\."/],
    [".hidden", /must not start with "\." \(got "\.hidden"\)/],
    ["-flag", /must not start with "-"/],
    ["a..b", /must not contain "\.\."/],
    ["a/b", /must not contain a path separator/],
    ["a b", /only contain letters, digits/],
    ["é", /only contain letters, digits/],
    ["x".repeat(101), /at most 100 characters \(got 101\)/],
  ];
  for (const [bad, message] of cases) {
    const result = SlugSchema.safeParse(bad);
    assert.equal(result.success, false, bad);
    assert.match(result.error!.issues[0].message, message);
    assert.equal(result.error!.issues.length, 1, `one message for ${JSON.stringify(bad)}`);
    assert.ok(!SLUG_PATTERN.test(bad), bad);
  }
  assert.deepEqual(messages({ prompt: "x" }), ["slug: is required (a slug)"]);
});

Deno.test("SLUG_PATTERN accepts exactly the slugs the CLI accepts", () => {
  const samples = [
    "a",
    "A-b_c.d",
    ".",
    "..",
    ".a",
    "-a",
    "a-",
    "a.",
    "a..b",
    "a/b",
    "a\\b",
    "a b",
    "",
    "x".repeat(100),
  ];
  samples.push("x".repeat(101), "ok..", "_x", "0", "ü", "a\n");
  for (const slug of samples) {
    assert.equal(SLUG_PATTERN.test(slug), slugProblem(slug) === null, JSON.stringify(slug));
  }
});

Deno.test("every permission mode and alias is accepted and normalized like --permission", () => {
  for (const mode of [...PERMISSION_MODES, ...PERMISSION_ALIASES]) {
    assert.equal(
      parse({ slug: "a", prompt: "x", permission: mode }).permission,
      parsePermission(mode, "test"),
    );
  }
  assert.equal(parse({ slug: "a", prompt: "x", permission: "bypass" }).permission, "bypassPermissions");
});

Deno.test("an unknown permission is refused with a suggestion and the list of modes", () => {
  const [message] = messages({ slug: "a", prompt: "x", permission: "acceptedits" });
  assert.match(
    message,
    /^permission: unknown permission mode "acceptedits" \(did you mean "acceptEdits"\?\); expected one of: plan,/,
  );
  assert.match(
    messages({ slug: "a", prompt: "x", permission: "yolo" })[0],
    /unknown permission mode "yolo"; expected one of/,
  );
  assert.match(
    messages({ slug: "a", prompt: "x", permission: 3 })[0],
    /expected permission mode, got number 3/,
  );
});

Deno.test("timeout takes positive seconds or a duration and becomes seconds", () => {
  assert.equal(parse({ slug: "a", prompt: "x", timeout: 90 }).timeout, 90);
  assert.equal(parse({ slug: "a", prompt: "x", timeout: 0.5 }).timeout, 0.5);
  assert.equal(parse({ slug: "a", prompt: "x", timeout: "90s" }).timeout, 90);
  assert.equal(parse({ slug: "a", prompt: "x", timeout: "1h" }).timeout, 3600);
  assert.deepEqual(messages({ slug: "a", prompt: "x", timeout: -5 }), [
    "timeout: must be a positive number of seconds",
  ]);
  assert.deepEqual(messages({ slug: "a", prompt: "x", timeout: 0 }), [
    "timeout: must be a positive number of seconds",
  ]);
  assert.match(
    messages({ slug: "a", prompt: "x", timeout: "10 minutes" })[0],
    /timeout: invalid duration "10 minutes"/,
  );
  assert.match(messages({ slug: "a", prompt: "x", timeout: "0s" })[0], /timeout: invalid duration "0s"/);
  assert.match(
    messages({ slug: "a", prompt: "x", timeout: true })[0],
    /timeout: expected a positive number of seconds or a duration like "90s", "10m", "1h", got boolean true/,
  );
});

Deno.test("max_turns must be a positive whole number and max_budget_usd positive", () => {
  assert.match(messages({ slug: "a", prompt: "x", max_turns: 0 })[0], /max_turns: must be at least 1/);
  assert.match(
    messages({ slug: "a", prompt: "x", max_turns: 1.5 })[0],
    /max_turns: expected a whole number, got number 1.5/,
  );
  assert.match(
    messages({ slug: "a", prompt: "x", max_turns: "3" })[0],
    /max_turns: expected a whole number, got string "3"/,
  );
  assert.match(
    messages({ slug: "a", prompt: "x", max_budget_usd: 0 })[0],
    /max_budget_usd: must be more than 0/,
  );
  assert.match(
    messages({ slug: "a", prompt: "x", max_budget_usd: -1 })[0],
    /max_budget_usd: must be more than 0/,
  );
});

Deno.test("prompt must not be empty and is exclusive with prompt_file", () => {
  assert.deepEqual(messages({ slug: "a", prompt: "  \n" }), ["prompt: must not be empty (prompt text)"]);
  assert.deepEqual(messages({ slug: "a", prompt: "" }), ["prompt: must not be empty (prompt text)"]);
  assert.deepEqual(messages({ slug: "a" }), [": needs exactly one of prompt or prompt_file"]);
  assert.deepEqual(messages({ slug: "a", prompt: "x", prompt_file: "p.md" }), [
    "prompt_file: give exactly one of prompt or prompt_file, not both",
  ]);
});

Deno.test("the prompt check runs even when other keys are wrong", () => {
  assert.deepEqual(messages({ slug: 5 }), [
    "slug: expected a slug, got number 5",
    ": needs exactly one of prompt or prompt_file",
  ]);
});

Deno.test("tool lists and env are lists of names", () => {
  assert.match(
    messages({ slug: "a", prompt: "x", allowed_tools: "Read" })[0],
    /allowed_tools: expected a list of tool names, got string "Read"/,
  );
  assert.match(
    messages({ slug: "a", prompt: "x", disallowed_tools: [""] })[0],
    /disallowed_tools.0: must not be empty/,
  );
  assert.match(
    messages({ slug: "a", prompt: "x", env: ["A-B"] })[0],
    /env.0: invalid environment variable name "A-B"/,
  );
  assert.match(
    messages({ slug: "a", prompt: "x", env: ["1A"] })[0],
    /invalid environment variable name "1A"/,
  );
  assert.match(
    messages({ slug: "a", prompt: "x", env: { A: 1 } })[0],
    /env: expected a list of environment variable names, got a mapping/,
  );
});

Deno.test("sandbox is a boolean or {network} and normalizes to {enabled, network}", () => {
  assert.deepEqual(SandboxSchema.parse(true), { enabled: true, network: true });
  assert.deepEqual(SandboxSchema.parse(false), { enabled: false, network: true });
  assert.deepEqual(SandboxSchema.parse({}), { enabled: true, network: true });
  assert.deepEqual(SandboxSchema.parse({ network: false }), { enabled: true, network: false });
  assert.match(
    messages({ slug: "a", prompt: "x", sandbox: "yes" })[0],
    /sandbox: expected true, false or a mapping with network, got string "yes"/,
  );
  assert.match(
    messages({ slug: "a", prompt: "x", sandbox: { network: "no" } })[0],
    /sandbox.network: expected true or false/,
  );
});

Deno.test("follow-ups are strings or objects, with when defaulting to success", () => {
  assert.deepEqual(FollowUpSchema.parse("more"), { prompt: "more", when: "success" });
  assert.deepEqual(FollowUpSchema.parse({ prompt: "more" }), { prompt: "more", when: "success" });
  assert.deepEqual(FollowUpSchema.parse({ prompt: "more", when: "always", timeout: "2m" }), {
    prompt: "more",
    when: "always",
    timeout: 120,
  });
  assert.match(
    messages({ slug: "a", prompt: "x", follow_ups: [5] })[0],
    /follow_ups.0: expected a prompt string or a mapping/,
  );
  assert.match(
    messages({ slug: "a", prompt: "x", follow_ups: "more" })[0],
    /follow_ups: expected a list of follow-ups/,
  );
  assert.match(
    messages({ slug: "a", prompt: "x", follow_ups: [{ when: "always" }] })[0],
    /follow_ups.0: needs exactly one of prompt/,
  );
  assert.match(
    messages({ slug: "a", prompt: "x", follow_ups: [{ prompt: "y", when: "sometimes" }] })[0],
    /follow_ups.0.when: unknown when "sometimes"; expected one of: success, always/,
  );
});

Deno.test("review is true, false or an object with at most one of prompt and prompt_file", () => {
  assert.deepEqual(ReviewSchema.parse(true), {});
  assert.equal(ReviewSchema.parse(false), null);
  assert.deepEqual(ReviewSchema.parse({ model: "opus", permission: "bypass" }), {
    model: "opus",
    permission: "bypassPermissions",
  });
  assert.match(
    messages({ slug: "a", prompt: "x", review: { prompt: "a", prompt_file: "b" } })[0],
    /review.prompt_file: give exactly one/,
  );
  assert.match(
    messages({ slug: "a", prompt: "x", review: "yes" })[0],
    /review: expected true, false or a mapping/,
  );
});

Deno.test("no union error is the bare 'Invalid input'", () => {
  const inputs = [
    { slug: "a", prompt: "x", timeout: [] },
    { slug: "a", prompt: "x", sandbox: 1 },
    { slug: "a", prompt: "x", review: 1 },
    { slug: "a", prompt: "x", follow_ups: [null] },
    { slug: "a", prompt: "x", follow_ups: [{ prompt: "y", timeout: {} }] },
  ];
  for (const input of inputs) {
    for (const message of messages(input)) assert.doesNotMatch(message, /Invalid input/, message);
  }
});

Deno.test("unknown keys are refused", () => {
  const result = TaskSpecSchema.safeParse({ slug: "a", prompt: "x", promt: "y" });
  assert.equal(result.success, false);
  assert.deepEqual(result.error!.issues.map((i) => i.code), ["unrecognized_keys"]);
});

Deno.test("a task that is not a mapping says so", () => {
  assert.deepEqual(messages(["a"]), [": expected a mapping of task keys (slug, prompt, ...), got a list"]);
  assert.deepEqual(messages("text"), [
    ': expected a mapping of task keys (slug, prompt, ...), got string "text"',
  ]);
});

Deno.test("DURATION_PATTERN agrees with parseDuration", () => {
  for (const text of ["1", "1s", "0.5m", "10h", "0", "0s", "00m", "1d", "-1"]) {
    let parses = true;
    try {
      parseDuration(text);
    } catch {
      parses = false;
    }
    assert.equal(DURATION_PATTERN.test(text), parses, text);
  }
});

Deno.test("closestMatch suggests near keys and ignores case, - and _", () => {
  assert.equal(editDistance("promt", "prompt"), 1);
  assert.equal(editDistance("", "abc"), 3);
  assert.equal(closestMatch("promt", ["slug", "prompt", "prompt_file"]), "prompt");
  assert.equal(closestMatch("allowed-tools", ["allowed_tools", "disallowed_tools"]), "allowed_tools");
  assert.equal(closestMatch("maxTurns", ["max_turns", "model"]), "max_turns");
  assert.equal(closestMatch("followups", ["follow_ups"]), "follow_ups");
  assert.equal(closestMatch("banana", ["slug", "prompt"]), undefined);
});

Deno.test("the JSON Schema describes every field, forbids unknown keys and keeps the prompt rule", () => {
  const schema = taskJsonSchema() as {
    properties: Record<string, { description?: string }>;
    required: string[];
    additionalProperties: boolean;
    oneOf: unknown[];
  };
  assert.deepEqual(Object.keys(schema.properties).sort(), Object.keys(TaskSpecSchema.def.shape ?? {}).sort());
  for (const [key, property] of Object.entries(schema.properties)) {
    assert.ok(property.description, `${key} has a description`);
  }
  assert.deepEqual(schema.required, ["slug"]);
  assert.equal(schema.additionalProperties, false);
  assert.deepEqual(schema.oneOf, [{ required: ["prompt"] }, { required: ["prompt_file"] }]);
});

Deno.test("the committed task.schema.json is the generated one (regenerate: deno run -A src/spec/json_schema.ts)", async () => {
  const committed = await Deno.readTextFile(SCHEMA_FILE);
  assert.equal(committed, taskJsonSchemaText(), "tasks.example/task.schema.json is stale");
  assert.equal(schemaText(), committed);
  assert.deepEqual(JSON.parse(committed), taskJsonSchema());
});
