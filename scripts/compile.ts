/**
 * `deno task compile [OUT] [--target TARGET]`: builds dist/dispatch-cc with the declared permission set
 * ("dispatch" in deno.json) and V8 flag (src/run_flags.ts), so the binary has exactly the grants and heap of
 * `deno task dispatch-cc`. The commit it is built from is baked in (`dispatch-cc --version` names it): the
 * source is staged in a temporary folder whose src/build_info.ts names the commit, and compiled from there,
 * so the work tree is never modified. The commit is $DISPATCH_BUILD_COMMIT (the release workflow sets it),
 * else git's HEAD (with "-dirty" when the tree has changes), else "unknown".
 *
 * `--stage-only DIR` writes the staged copy to DIR and stops.
 *
 * `deno compile` needs a `denort` base binary of the same Deno version, which it downloads from Deno's
 * own server unless DENORT_BIN names one. Where neither works this fails with a message that says so.
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { V8_FLAG } from "../src/run_flags.ts";

const root = fileURLToPath(new URL("..", import.meta.url));

/** What to stage: everything `src/main.ts` imports, and the config and lock file it resolves with. */
const STAGED = ["src", "deno.json", "deno.lock"];

function parseArgs(argv: string[]): { out: string; target: string | null; stageOnly: string | null } {
  let out: string | null = null;
  let target: string | null = null;
  let stageOnly: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--target") target = argv[++i] ?? null;
    else if (argv[i] === "--stage-only") stageOnly = argv[++i] ?? null;
    else out = argv[i];
  }
  return { out: out ?? `${root}dist/dispatch-cc`, target, stageOnly };
}

async function git(args: string[]): Promise<string | null> {
  try {
    const r = await new Deno.Command("git", { args: ["-C", root, ...args], stdout: "piped", stderr: "null" })
      .output();
    return r.success ? new TextDecoder().decode(r.stdout).trim() : null;
  } catch {
    return null;
  }
}

/** The commit to bake in. */
async function buildCommit(): Promise<string> {
  const given = Deno.env.get("DISPATCH_BUILD_COMMIT")?.trim();
  if (given) return given.slice(0, 12);
  const head = await git(["rev-parse", "--short=12", "HEAD"]);
  if (!head) return "unknown";
  const dirty = await git(["status", "--porcelain", "--untracked-files=no"]);
  return dirty ? `${head}-dirty` : head;
}

async function copyTree(from: string, to: string): Promise<void> {
  const st = await Deno.stat(from);
  if (!st.isDirectory) return await Deno.copyFile(from, to);
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) await copyTree(join(from, e.name), join(to, e.name));
}

/** Copies the source into `stage` with the commit written into its src/build_info.ts. */
async function stageSource(stage: string, commit: string): Promise<void> {
  for (const name of STAGED) await copyTree(join(root, name), join(stage, name));
  await Deno.writeTextFile(
    join(stage, "src", "build_info.ts"),
    `/** Written by scripts/compile.ts into the staged copy it compiles. */\n` +
      `export const BUILD_COMMIT: string | null = ${JSON.stringify(commit)};\n`,
  );
}

const { out, target, stageOnly } = parseArgs(Deno.args);
const commit = await buildCommit();
if (stageOnly) {
  // What would be compiled, for a look (and the tests, where no denort can be had).
  await stageSource(stageOnly, commit);
  console.error(`staged the source with commit ${commit} in ${stageOnly}`);
  Deno.exit(0);
}
const stage = await Deno.makeTempDir({ prefix: "dispatch-cc-build-" });
let code = 1;
try {
  await stageSource(stage, commit);
  const args = [
    "compile",
    "--config",
    join(stage, "deno.json"),
    "-P=dispatch",
    "--no-prompt",
    V8_FLAG,
    // The source was type-checked where it lives (`deno task check`, CI); checking the staged copy again
    // would start from an empty cache every time.
    "--no-check",
    ...(target ? ["--target", target] : []),
    "--output",
    out,
    join(stage, "src", "main.ts"),
  ];
  const denort = Deno.env.get("DENORT_BIN");
  console.error(
    `deno ${args.join(" ")}   (commit ${commit}${denort ? `; base binary: DENORT_BIN=${denort}` : ""})`,
  );
  const result = await new Deno.Command(Deno.execPath(), { args, stdout: "inherit", stderr: "piped" })
    .output();
  const stderr = new TextDecoder().decode(result.stderr);
  const version = Deno.version.deno;
  if (result.code === 0) {
    console.error(`built ${out}`);
    code = 0;
  } else if (denort) {
    console.error(stderr.trim());
    console.error(
      `compile: failed with DENORT_BIN=${denort}: it must be an existing denort binary of Deno ${version} for this platform`,
    );
  } else if (/base binary|dl\.deno\.land|denort|dns error|error sending request/i.test(stderr)) {
    console.error(
      `compile: deno compile could not download its base binary (denort ${version}) from Deno's server; ` +
        `connect to the network or set DENORT_BIN to a denort ${version} binary and run again`,
    );
  } else {
    console.error(stderr.trim());
    console.error("compile: deno compile failed (see above)");
  }
} finally {
  await Deno.remove(stage, { recursive: true }).catch(() => {});
}
Deno.exit(code);
