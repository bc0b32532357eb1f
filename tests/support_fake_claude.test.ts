/** Checks tests/support/fake_claude.sh: every behaviour, flags, and the detached grandchild of "hang". */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runClaude } from "./support/claude_cli.ts";

const FAKE = join(dirname(fileURLToPath(import.meta.url)), "support", "fake_claude.sh");
const ARGS = ["-p", "--output-format", "stream-json", "--verbose", "--permission-mode", "acceptEdits"];
const env = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: "/nonexistent" };

function fake(prompt: string, args: string[] = ARGS, extraEnv: Record<string, string> = {}) {
  return runClaude({
    bin: FAKE,
    args,
    prompt,
    cwd: Deno.cwd(),
    env: { ...env, ...extraEnv },
    timeoutMs: 20_000,
  });
}

Deno.test("fake claude: --version", async () => {
  const r = await fake("", ["--version"]);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, "2.1.328 (Claude Code)\n");
});

Deno.test("fake claude: behaviours", async (t) => {
  const sid = crypto.randomUUID();
  const [ok, resumed, garbage, crash, truncated, stderr, slow, stream] = await Promise.all([
    fake("hello [[fake:ok]]", [...ARGS, "--session-id", sid]),
    fake("hello [[fake:ok]]", [...ARGS, "--resume", sid]),
    fake("[[fake:garbage]]"),
    fake("[[fake:crash]]"),
    fake("[[fake:truncated]]"),
    fake("[[fake:stderr]]"),
    fake("[[fake:slow-init 0.3]]"),
    fake("[[fake:stream 50]]"),
  ]);
  await t.step("ok", () => {
    assert.equal(ok.code, 0);
    assert.deepEqual(ok.events.map((e) => e.type), ["system", "assistant", "result"]);
    assert.equal(ok.events[0].subtype, "init");
    assert.equal(ok.events[0].session_id, sid);
    assert.equal(ok.events[0].permissionMode, "acceptEdits");
    assert.equal(ok.result.is_error, false);
    assert.equal(ok.result.subtype, "success");
    assert.equal(ok.result.session_id, sid);
    assert.equal(ok.result.num_turns, 1);
    assert.deepEqual(ok.result.permission_denials, []);
    assert.equal(resumed.result.session_id, sid);
  });
  await t.step("garbage", () => {
    assert.equal(garbage.code, 0);
    assert.equal(garbage.events.length, 0);
    assert.ok(garbage.stdout.length > 0);
  });
  await t.step("crash", () => {
    assert.equal(crash.code, 2);
    assert.equal(crash.events.length, 1);
    assert.ok(!crash.stdout.endsWith("\n"));
  });
  await t.step("truncated", () => {
    assert.equal(truncated.code, 0);
    assert.deepEqual(truncated.events.map((e) => e.type), ["system", "assistant"]);
    assert.equal(truncated.result, undefined);
  });
  await t.step("stderr", () => {
    assert.equal(stderr.code, 1);
    assert.equal(stderr.stdout, "");
    assert.match(stderr.stderr, /Error/);
  });
  await t.step("slow-init", () => {
    assert.equal(slow.code, 0);
    assert.ok(slow.durationMs >= 300);
    assert.equal(slow.result.is_error, false);
  });
  await t.step("stream N", () => {
    assert.equal(stream.code, 0);
    assert.equal(stream.events.filter((e) => e.type === "assistant").length, 50);
    assert.equal(stream.result.num_turns, 50);
    assert.ok(stream.stdout.length > 50_000);
  });
});

Deno.test("fake claude: hang prints init, sleeps, and leaves a detached grandchild with the env", async () => {
  const marker = `FAKE_TEST_${crypto.randomUUID().replaceAll("-", "")}`;
  const child = new Deno.Command(FAKE, {
    args: ARGS,
    env: { ...env, [marker]: "1" },
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode("[[fake:hang]]"));
  await w.close();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  while (!buf.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
  }
  assert.equal(JSON.parse(buf.split("\n")[0]).subtype, "init");

  // Find processes that carry the marker (the fake itself and its setsid'd grandchild).
  const carriers = () => {
    const pids: number[] = [];
    for (const e of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(e.name)) continue;
      try {
        if (Deno.readTextFileSync(`/proc/${e.name}/environ`).split("\0").includes(`${marker}=1`)) {
          pids.push(Number(e.name));
        }
      } catch { /* gone or not ours */ }
    }
    return pids;
  };
  let found: number[] = [];
  for (let i = 0; i < 50 && found.length < 2; i++) {
    found = carriers();
    if (found.length < 2) await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(found.includes(child.pid), "the fake itself");
  const grandchildren = found.filter((p) => p !== child.pid);
  assert.equal(grandchildren.length, 1, "one detached grandchild");

  child.kill("SIGTERM");
  const status = await child.status;
  assert.equal(status.signal, "SIGTERM");
  await reader.cancel();
  // Killing the fake does not end the grandchild: that is the point. Clean it up ourselves.
  assert.deepEqual(carriers(), grandchildren);
  for (const p of grandchildren) Deno.kill(p, "SIGKILL");
});
