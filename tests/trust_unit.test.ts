/**
 * The pieces behind issue 11 items 6 and 7 without processes: the review's permission under the caller's
 * `--permission`, and control characters shown visibly in text output.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { escapeJsonControls, visibleControls } from "../src/render/visible.ts";
import { NO_SANDBOX } from "../src/sandbox/choice.ts";
import { loadTaskFile } from "../src/spec/load.ts";
import { planSlugSteps, reviewPermission } from "../src/spec/steps.ts";

Deno.test("reviewPermission: plan unless the review asks for more, never above the caller's --permission", () => {
  assert.equal(reviewPermission(undefined, undefined), "plan");
  assert.equal(reviewPermission("acceptEdits", undefined), "acceptEdits");
  assert.equal(reviewPermission("acceptEdits", "plan"), "plan");
  assert.equal(reviewPermission("acceptEdits", "default"), "default");
  assert.equal(
    reviewPermission(undefined, "bypassPermissions"),
    "plan",
    "a high flag does not raise the review",
  );
  assert.equal(reviewPermission("dontAsk", "acceptEdits"), "dontAsk");
});

Deno.test("planSlugSteps: --permission caps the review a task file raised; the source names the file's entry", async () => {
  const dir = await Deno.makeTempDir({ prefix: "trust_unit_" });
  try {
    const file = join(dir, "t.yaml");
    await Deno.writeTextFile(
      file,
      "slug: s\nprompt: a\nfollow_ups:\n  - {prompt: b, permission: auto}\nreview: {permission: acceptEdits}\n",
    );
    const { tasks, problems } = await loadTaskFile(file);
    assert.deepEqual(problems, []);
    const defaults = { permission: "acceptEdits" as const, timeoutS: 600, sandbox: NO_SANDBOX };
    const plain = await planSlugSteps(tasks, {}, defaults);
    assert.deepEqual(plain.map((s) => [s.kind, s.request.permission, s.request.permissionSource]), [
      ["prompt", "acceptEdits", "the default permission (DISPATCH_PERMISSION)"],
      ["follow_up", "auto", `${file}:4:29: follow_ups[0].permission`],
      ["review", "acceptEdits", `${file}:5:22: review.permission`],
    ]);
    const capped = await planSlugSteps(tasks, { permission: "plan" }, defaults);
    assert.deepEqual(capped.map((s) => s.request.permission), ["plan", "plan", "plan"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("visibleControls shows every control character but newline and tab, as cat -v does", () => {
  assert.equal(visibleControls("a\tb\nc"), "a\tb\nc");
  assert.equal(
    visibleControls("ok\x1b]52;c;eA==\x07\x1b[2J\x1b[8mhid\x1b[0m\r\x00\x7f"),
    "ok^[]52;c;eA==^G^[[2J^[[8mhid^[[0m^M^@^?",
  );
  assert.equal(visibleControls("\u009b2J\u009d52;c;x\u0085"), "^[[2J^[]52;c;x^[E", "C1 as ESC + letter");
  assert.equal(visibleControls("é ü 日本 \u00a0"), "é ü 日本 \u00a0", "printable text is untouched");
  for (let c = 0; c < 0xa0; c++) {
    const shown = visibleControls(String.fromCharCode(c));
    if (c === 9 || c === 10 || (c >= 0x20 && c < 0x7f)) assert.equal(shown.length, 1);
    else assert.match(shown, /^\^/, `U+${c.toString(16)}`);
  }
});

Deno.test("escapeJsonControls: the same JSON value with DEL and C1 escaped", () => {
  const value = { text: "a\x7fb\u009b2J\u0085é" };
  const text = escapeJsonControls(JSON.stringify(value));
  assert.equal(text, '{"text":"a\\u007fb\\u009b2J\\u0085é"}');
  assert.deepEqual(JSON.parse(text), value);
});
