/**
 * `dispatch-cc --version` names the version and the commit: read from git when run from source, baked in
 * by the compile script (which stages a copy of the source, so the work tree is never touched).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DENO_RUN_FLAGS } from "../src/run_flags.ts";
import { VERSION } from "../src/version.ts";
import { versionInfo, versionLine } from "../src/version_info.ts";
import { baseEnv, REPO, runCli } from "./support/cli.ts";
import { tempDir } from "./support/temp.ts";

async function git(args: string[]): Promise<string> {
  const r = await new Deno.Command("git", { args: ["-C", REPO, ...args], stdout: "piped" }).output();
  return new TextDecoder().decode(r.stdout).trim();
}

Deno.test("--version from source names the version, git's commit, and that it runs from source", async () => {
  const t = await tempDir();
  try {
    const env = baseEnv({ projects: join(t.path, "p"), home: t.path });
    const head = await git(["rev-parse", "--short=12", "HEAD"]);
    const r = await runCli(["--version"], { env });
    assert.equal(r.code, 0);
    assert.equal(
      r.stdout.trim(),
      `dispatch-cc ${VERSION} (commit ${head}, source, deno ${Deno.version.deno}, ${Deno.build.target})`,
    );
    const j = await runCli(["--version", "--json"], { env });
    assert.deepEqual(j.json, {
      version: 1,
      dispatch_cc: VERSION,
      commit: head,
      build: "source",
      deno: Deno.version.deno,
      target: Deno.build.target,
    });
  } finally {
    await t.cleanup();
  }
});

Deno.test("versionInfo: a baked commit wins; a binary never asks git; without either the commit is unknown", async () => {
  const asked: string[] = [];
  const gitHead = (root: string) => (asked.push(root), Promise.resolve("feedbeef0000"));
  const baked = await versionInfo({
    standalone: true,
    bakedCommit: "0123456789ab",
    sourceRoot: null,
    gitHead,
  });
  assert.equal(baked.commit, "0123456789ab");
  assert.equal(baked.build, "binary");
  const binary = await versionInfo({ standalone: true, bakedCommit: null, sourceRoot: "/src", gitHead });
  assert.equal(binary.commit, null);
  assert.match(versionLine(binary), /\(commit unknown, binary, /);
  assert.deepEqual(asked, []);
  const source = await versionInfo({ standalone: false, bakedCommit: null, sourceRoot: "/src", gitHead });
  assert.equal(source.commit, "feedbeef0000");
  assert.deepEqual(asked, ["/src"]);
});

Deno.test("compile stages the source with the commit baked in, and leaves the work tree alone", async () => {
  const t = await tempDir();
  try {
    const stage = join(t.path, "stage");
    const before = await Deno.readTextFile(join(REPO, "src", "build_info.ts"));
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["task", "--config", join(REPO, "deno.json"), "compile", "--stage-only", stage],
      env: { NO_COLOR: "1", DISPATCH_BUILD_COMMIT: "0123456789abcdef0123" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
    assert.equal(await Deno.readTextFile(join(REPO, "src", "build_info.ts")), before);
    // The staged program is what the binary holds: it names the baked commit without asking git.
    const v = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--config",
        join(stage, "deno.json"),
        ...DENO_RUN_FLAGS,
        join(stage, "src", "main.ts"),
        "--version",
      ],
      env: { PATH: "" },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.match(
      new TextDecoder().decode(v.stdout),
      new RegExp(`^dispatch-cc ${VERSION} \\(commit 0123456789ab, `),
    );
  } finally {
    await t.cleanup();
  }
});

Deno.test("compile without a reachable denort fails with one clear message and leaves nothing behind", async () => {
  const t = await tempDir();
  try {
    const tmp = join(t.path, "tmp");
    await Deno.mkdir(tmp);
    const out = join(t.path, "dispatch-cc");
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["task", "--config", join(REPO, "deno.json"), "compile", out],
      env: { NO_COLOR: "1", TMPDIR: tmp },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(r.stderr);
    if (r.code === 0) return; // A machine that can download denort builds it (compile.test.ts runs it).
    assert.equal(r.code, 1);
    assert.match(
      stderr,
      /compile: deno compile could not download its base binary \(denort .*\).*DENORT_BIN/,
    );
    assert.equal(await Deno.stat(out).then(() => true, () => false), false);
    assert.deepEqual([...Deno.readDirSync(tmp)], [], "the staged copy is removed");
  } finally {
    await t.cleanup();
  }
});
