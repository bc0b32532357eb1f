import assert from "node:assert/strict";
import { canonicalJson, stepHashes } from "../src/spec/hash.ts";
import { type LoadedTask, loadTaskFile } from "../src/spec/load.ts";

/** Loads one task from YAML text (and prompt files) held in memory. */
async function task(text: string, files: Record<string, string> = {}): Promise<LoadedTask> {
  const all: Record<string, string> = { "/t/task.yaml": text, ...files };
  const { tasks, problems } = await loadTaskFile(
    "/t/task.yaml",
    (p) => p in all ? Promise.resolve(all[p]) : Promise.reject(new Deno.errors.NotFound(p)),
    (p) =>
      p in all
        ? Promise.resolve({ size: all[p].length, isFile: true })
        : Promise.reject(new Deno.errors.NotFound(p)),
  );
  assert.deepEqual(problems, []);
  return tasks[0];
}

const BASE = `slug: demo
prompt: Build it.
model: sonnet
follow_ups:
  - Add tests.
  - Write a README.
  - prompt: Run the tests.
    when: always
review: true
`;

/** Which of two hash lists differ, by position. */
function changed(a: string[], b: string[]): boolean[] {
  assert.equal(a.length, b.length);
  return a.map((hash, i) => hash !== b[i]);
}

Deno.test("canonicalJson sorts keys and drops undefined members", () => {
  assert.equal(canonicalJson({ b: 1, a: [{ d: undefined, c: "x" }] }), '{"a":[{"c":"x"}],"b":1}');
  assert.equal(canonicalJson({ a: 1, b: 2 }), canonicalJson({ b: 2, a: 1 }));
});

Deno.test("there is one hash per step: prompt, each follow-up, review", async () => {
  const hashes = await stepHashes(await task(BASE), {});
  assert.equal(hashes.length, 5);
  assert.equal(new Set(hashes).size, 5);
  for (const hash of hashes) assert.match(hash, /^[0-9a-f]{64}$/);
  assert.equal((await stepHashes(await task("slug: a\nprompt: x\n"), {})).length, 1);
});

Deno.test("an unchanged task gives the same hashes, whatever the key order", async () => {
  const reordered = `review: true
model: sonnet
follow_ups:
  - Add tests.
  - Write a README.
  - when: always
    prompt: Run the tests.
prompt: Build it.
slug: demo
`;
  assert.deepEqual(await stepHashes(await task(BASE), {}), await stepHashes(await task(reordered), {}));
});

Deno.test("changing step 2 changes the hashes of steps 2..n only", async () => {
  const before = await stepHashes(await task(BASE), {});
  const after = await stepHashes(await task(BASE.replace("Add tests.", "Add more tests.")), {});
  assert.deepEqual(changed(before, after), [false, true, true, true, true]);
});

Deno.test("changing a follow-up's overrides or when re-runs from that follow-up", async () => {
  const before = await stepHashes(await task(BASE), {});
  const after = await stepHashes(await task(BASE.replace("when: always", "when: success")), {});
  assert.deepEqual(changed(before, after), [false, false, false, true, true]);
});

Deno.test("changing the first prompt or a task setting changes every hash", async () => {
  const before = await stepHashes(await task(BASE), {});
  for (
    const edit of [
      BASE.replace("Build it.", "Build it well."),
      BASE.replace("sonnet", "opus"),
      BASE + "max_turns: 5\n",
    ]
  ) {
    assert.deepEqual(changed(before, await stepHashes(await task(edit), {})), [true, true, true, true, true]);
  }
});

Deno.test("command-line overrides change every hash", async () => {
  const loaded = await task(BASE);
  const before = await stepHashes(loaded, {});
  assert.deepEqual(changed(before, await stepHashes(loaded, { model: "opus" })), [
    true,
    true,
    true,
    true,
    true,
  ]);
  assert.deepEqual(await stepHashes(loaded, { model: "opus" }), await stepHashes(loaded, { model: "opus" }));
});

Deno.test("changing only the review changes only the last hash", async () => {
  const before = await stepHashes(await task(BASE), {});
  const after = await stepHashes(await task(BASE.replace("review: true", "review: {model: opus}")), {});
  assert.deepEqual(changed(before, after), [false, false, false, false, true]);
});

Deno.test("the prompt text counts, not the prompt_file path; the description does not count", async () => {
  const inline = await stepHashes(await task("slug: a\nprompt: Same text.\n"), {});
  const fromFile = await stepHashes(
    await task("slug: a\nprompt_file: p.md\n", { "/t/p.md": "Same text." }),
    {},
  );
  const moved = await stepHashes(await task("slug: a\nprompt_file: q.md\n", { "/t/q.md": "Same text." }), {});
  const described = await stepHashes(await task("slug: a\ndescription: Words.\nprompt: Same text.\n"), {});
  assert.deepEqual(fromFile, inline);
  assert.deepEqual(moved, inline);
  assert.deepEqual(described, inline);
  const edited = await stepHashes(
    await task("slug: a\nprompt_file: p.md\n", { "/t/p.md": "Other text." }),
    {},
  );
  assert.notDeepEqual(edited, inline);
});

Deno.test("a timeout written as 10m or 600 is the same work", async () => {
  const minutes = await stepHashes(await task("slug: a\nprompt: x\ntimeout: 10m\n"), {});
  const seconds = await stepHashes(await task("slug: a\nprompt: x\ntimeout: 600\n"), {});
  assert.deepEqual(minutes, seconds);
});
