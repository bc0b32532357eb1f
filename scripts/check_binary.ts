/**
 * `deno run -A scripts/check_binary.ts BINARY [--version X.Y.Z] [--commit SHA] [--build binary|source]`:
 * the release workflow's check of each built binary on its own runner. It runs `--version` (the version and
 * commit named, and "binary"), `guide`, and `doctor --json` with an empty projects folder (one JSON
 * document; the projects folder found writable; exit 0 or 1 matching the document). Exits 1 with every
 * problem listed. BINARY may be a command line with arguments (the tests check the source this way).
 */
const argv = [...Deno.args];
const opt = (name: string): string | null => {
  const i = argv.indexOf(name);
  if (i < 0) return null;
  const [, value] = argv.splice(i, 2);
  return value ?? null;
};
const wantVersion = opt("--version")?.replace(/^v/, "") ?? null;
const wantCommit = opt("--commit")?.slice(0, 12) ?? null;
const wantBuild = opt("--build") ?? "binary";
const [bin, ...binArgs] = argv;
if (!bin) {
  console.error("usage: check_binary.ts BINARY [--version X.Y.Z] [--commit SHA] [--build binary|source]");
  Deno.exit(2);
}

const problems: string[] = [];
const projects = await Deno.makeTempDir({ prefix: "dispatch-cc-check-" });
async function run(args: string[]) {
  const r = await new Deno.Command(bin, {
    args: [...binArgs, ...args],
    env: { DISPATCH_PROJECTS_DIR: projects, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

try {
  const v = await run(["--version"]);
  const line = v.stdout.trim();
  const m = line.match(/^dispatch-cc (\S+) \(commit (\S+), (binary|source), deno (\S+), (\S+)\)$/);
  if (v.code !== 0 || !m) problems.push(`--version: exit ${v.code}, printed ${JSON.stringify(line)}`);
  else {
    if (wantVersion && m[1] !== wantVersion) {
      problems.push(`--version names ${m[1]}, expected ${wantVersion}`);
    }
    if (wantCommit && m[2] !== wantCommit) {
      problems.push(`--version names commit ${m[2]}, expected ${wantCommit}`);
    }
    if (m[3] !== wantBuild) problems.push(`--version says ${m[3]}, expected ${wantBuild}`);
    console.log(`ok --version: ${line}`);
  }

  const g = await run(["guide"]);
  if (g.code !== 0 || !g.stdout.startsWith("# dispatch-cc")) problems.push(`guide: exit ${g.code}`);
  else console.log(`ok guide: ${g.stdout.length} characters`);

  const d = await run(["doctor", "--json"]);
  let doc: { version?: number; ok?: boolean; exit_code?: number; checks?: { id: string; status: string }[] } =
    {};
  try {
    doc = JSON.parse(d.stdout);
  } catch {
    problems.push(
      `doctor --json printed no JSON document (exit ${d.code}): ${d.stderr.trim().slice(0, 300)}`,
    );
  }
  if (doc.checks) {
    const projectsCheck = doc.checks.find((c) => c.id === "projects_dir");
    if (doc.version !== 1) problems.push(`doctor --json: version ${doc.version}, expected 1`);
    if (projectsCheck?.status !== "ok") problems.push(`doctor: projects_dir is ${projectsCheck?.status}`);
    if (![0, 1].includes(d.code) || d.code !== doc.exit_code || (d.code === 0) !== doc.ok) {
      problems.push(`doctor: exit ${d.code} but the document says exit_code ${doc.exit_code}, ok ${doc.ok}`);
    }
    const failed = doc.checks.filter((c) => c.status === "fail").map((c) => c.id);
    console.log(
      `ok doctor --json: exit ${d.code}${failed.length ? ` (failed here: ${failed.join(", ")})` : ""}`,
    );
  }
} finally {
  await Deno.remove(projects, { recursive: true }).catch(() => {});
}
if (problems.length) {
  for (const p of problems) console.error(`check_binary: ${p}`);
  Deno.exit(1);
}
