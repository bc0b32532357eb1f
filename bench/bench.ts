/**
 * `deno task bench`: list/search/status at 100 to 100,000 projects, the per-dispatch overhead of `run`,
 * and the peak memory of a run with a huge transcript. Every figure is taken on the program as users run
 * it (`deno run -P=dispatch` on src/main.ts, one process per call); results go to bench/RESULTS.md.
 *
 *   deno task bench                   sizes 100, 1,000, 10,000 and 100,000; memory at 50, 100, 200, 400 MB
 *   deno task bench --max 10000       sizes up to 10,000
 *   deno task bench --quick           sizes up to 10,000, fewer repeats, memory at 25 and 50 MB
 *   deno task bench --only list,search,status,dispatch,memory
 *   deno task bench --keep DIR        generate into DIR and keep it (reused when it is already there)
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { COMMON_WORD, generateProjects, HEAVY, RARE_WORD, slugOf } from "./generate.ts";
import { DENO_RUN_FLAGS } from "../src/run_flags.ts";
import { lines } from "../src/runner/lines.ts";
import { loadTaskFile } from "../src/spec/load.ts";

const REPO = fileURLToPath(new URL("../", import.meta.url)).replace(/\/$/, "");
const FAKE = `${REPO}/tests/support/fake_claude.sh`;
const MAIN = ["run", "--config", `${REPO}/deno.json`, ...DENO_RUN_FLAGS, `${REPO}/src/main.ts`];
const FLOOR = `${REPO}/bench/floor.ts`;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    max: { type: "string" },
    quick: { type: "boolean" },
    only: { type: "string" },
    keep: { type: "string" },
    repeats: { type: "string" },
    out: { type: "string" },
    memory: { type: "string" },
  },
});
const quick = values.quick === true;
const max = Number(values.max ?? (quick ? 10_000 : 100_000));
const only = new Set((values.only ?? "list,search,status,dispatch,memory,parsing").split(","));
const SIZES = [100, 1_000, 10_000, 100_000].filter((n) => n <= max);
const repeats = (n: number) => Number(values.repeats ?? (quick ? 5 : n >= 100_000 ? 5 : 11));
const MEMORY_MB = values.memory
  ? values.memory.split(",").map(Number)
  : quick
  ? [25, 50]
  : [50, 100, 200, 400];
const outPath = values.out ?? `${REPO}/bench/RESULTS.md`;

interface Row {
  what: string;
  size: string;
  median: number;
  min: number;
  max: number;
  n: number;
  unit: string;
  target?: string;
  note?: string;
}
const rows: Row[] = [];

const log = (m: string) => console.error(m);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Runs a command to its end, output discarded; returns wall time in ms and the exit code. */
async function timed(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  stdin?: string,
): Promise<[number, number]> {
  const t0 = performance.now();
  const child = new Deno.Command(cmd, {
    args,
    env,
    clearEnv: true,
    cwd: REPO,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "null",
    // Kept, and shown when the call fails: a figure that is the time to fail (a TLS proxy, a missing
    // DENO_DIR) must say so.
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const [{ code }, err] = await Promise.all([child.status, new Response(child.stderr).text()]);
  if (code !== 0 && err.trim()) {
    log(`  ${cmd === Deno.execPath() ? "dispatch-cc" : cmd} exited ${code}: ${err.trim()}`);
  }
  return [performance.now() - t0, code];
}

/**
 * What the children keep from the bench's own environment: Deno's cache and the TLS settings of a machine
 * behind a proxy (without them every call measures a failure).
 */
const KEPT_ENV = [
  "DENO_DIR",
  "DENO_CERT",
  "DENO_TLS_CA_STORE",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "NODE_EXTRA_CA_CERTS",
  "HTTPS_PROXY",
  "HTTP_PROXY",
  "NO_PROXY",
  "https_proxy",
  "http_proxy",
  "no_proxy",
  "XDG_CACHE_HOME",
];

function baseEnv(projects: string, extra: Record<string, string> = {}): Record<string, string> {
  const kept = Object.fromEntries(
    KEPT_ENV.flatMap((k) => Deno.env.get(k) !== undefined ? [[k, Deno.env.get(k)!]] : []),
  );
  return {
    ...kept,
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/tmp",
    DISPATCH_PROJECTS_DIR: projects,
    ...extra,
  };
}

async function measure(
  what: string,
  size: string,
  args: string[],
  env: Record<string, string>,
  n: number,
  opts: {
    target?: string;
    before?: () => Promise<void>;
    via?: "run" | "task";
    stdin?: string;
    /** Another module than src/main.ts, run the same way (bench/floor.ts). */
    module?: string;
  } = {},
): Promise<Row> {
  const [cmd, argv] = opts.via === "task"
    ? [Deno.execPath(), ["task", "--quiet", "--config", `${REPO}/deno.json`, "dispatch-cc", ...args]]
    : [Deno.execPath(), [...MAIN.slice(0, -1), opts.module ?? MAIN.at(-1)!, ...args]];
  const times: number[] = [];
  if (!opts.before) await timed(cmd, argv, env, opts.stdin); // warm-up (also brings the caches up to date)
  for (let i = 0; i < n; i++) {
    await opts.before?.();
    const [ms, code] = await timed(cmd, argv, env, opts.stdin);
    if (code !== 0) throw new Error(`${what}: dispatch-cc ${args.join(" ")} exited ${code}`);
    times.push(ms);
  }
  return timesRow(what, size, times, { target: opts.target });
}

/** The targets of issue 18 (list, list --json, search; status at any size; a cold list at 10,000). */
const targetFor = (cmd: string, size: number) =>
  cmd === "status"
    ? "< 40 ms"
    : size === 10_000
    ? { list: "< 150 ms", search: "< 150 ms", cold: "< 2000 ms" }[cmd]
    : size === 100_000
    ? { list: "< 1500 ms", search: "< 1000 ms" }[cmd]
    : undefined;

async function scale(root: string) {
  const projects = `${root}/projects`;
  await Deno.mkdir(projects, { recursive: true });
  let have = 0;
  for (const e of Deno.readDirSync(projects)) if (!e.name.startsWith(".")) have++;
  const env = baseEnv(projects);
  const dropIndex = () => Deno.remove(`${projects}/.dispatch-index`, { recursive: true }).catch(() => {});
  for (const size of SIZES) {
    if (have > size) {
      // The tree only grows: a kept tree larger than this size cannot measure it.
      log(`skipping ${size} projects: the tree in ${projects} already has ${have} (use a new --keep folder)`);
      continue;
    }
    if (have < size) {
      const t0 = performance.now();
      const files = generateProjects(projects, have, size);
      log(
        `generated projects ${have}..${size} (${files} files) in ${
          ((performance.now() - t0) / 1000).toFixed(1)
        } s`,
      );
      have = size;
    }
    // Files written just now are "racy" for the caches (not cached until 2 s old): wait that out, as a
    // real projects folder is older than that. Flush the generated files to disk first: the kernel writing
    // back a hundred thousand new files competes with the measurements otherwise.
    await new Deno.Command("sync").output().catch(() => {});
    await new Promise((r) => setTimeout(r, 5000));
    const n = repeats(size);
    const label = size.toLocaleString("en-US");
    const heavySlug = slugOf([...HEAVY.keys()].filter((i) => i < size).at(-1) ?? 0);
    if (only.has("list")) {
      // What no command here can go below (bench/floor.ts): Deno's start-up, then with the two stats per
      // project an exact list must make.
      await measure("floor: Deno start-up (empty module)", label, [], env, n, { module: FLOOR });
      await measure("floor: start-up + 2 stats per project", label, ["stats"], env, n, { module: FLOOR });
      await measure("list", label, ["list"], env, n, { target: targetFor("list", size) });
      await measure("list --json", label, ["list", "--json"], env, n, { target: targetFor("list", size) });
      await measure("list (cold: no index)", label, ["list"], env, Math.min(n, size >= 100_000 ? 1 : 3), {
        before: dropIndex,
        target: targetFor("cold", size),
      });
      await measure("list (cold) then list", label, ["list"], env, 1);
    }
    if (only.has("search")) {
      await measure(`search ${RARE_WORD} (rare)`, label, ["search", RARE_WORD, "--json"], env, n, {
        target: targetFor("search", size),
      });
      await measure(`search ${COMMON_WORD} (common)`, label, ["search", COMMON_WORD, "--json"], env, n, {
        target: targetFor("search", size),
      });
      await measure(
        "search (cold: no index)",
        label,
        ["search", RARE_WORD],
        env,
        Math.min(n, size >= 10_000 ? 1 : 3), // it builds the trigram index of every text
        { before: dropIndex },
      );
    }
    if (only.has("status")) {
      // What no command can go below: starting Deno and the CLI (the floor under every figure here).
      await measure("start-up only (--version)", label, ["--version"], env, n);
      await measure("status", label, ["status", "--slug", slugOf(1), "--json"], env, n, {
        target: targetFor("status", size),
      });
      await measure(
        "status (project with thousands of runs)",
        label,
        ["status", "--slug", heavySlug, "--json"],
        env,
        n,
        {
          target: targetFor("status", size),
        },
      );
    }
    if (only.has("list") && size === SIZES.at(-1)) {
      await measure("list via deno task dispatch-cc", label, ["list"], env, n, { via: "task" });
    }
  }
}

async function dispatchOverhead(root: string) {
  const projects = `${root}/dispatch`;
  const env = baseEnv(projects, { DISPATCH_CC_BIN: FAKE });
  const prompt = "[[fake:ok]] say ok";
  const n = quick ? 7 : 15;
  const times: number[] = [];
  for (let i = 0; i < n + 1; i++) {
    const [ms] = await timed(FAKE, ["-p", "--output-format", "stream-json", "--verbose"], env, prompt);
    if (i > 0) times.push(ms);
  }
  const d = median(times);
  rows.push({
    what: "claude (fake, answers at once) directly",
    size: "-",
    median: d,
    min: Math.min(...times),
    max: Math.max(...times),
    n,
    unit: "ms",
  });
  log(`  fake claude directly: median ${d.toFixed(0)} ms`);
  for (const via of ["run", "task"] as const) {
    const r = await measure(
      `run${via === "task" ? " via deno task" : ""} (same prompt)`,
      "-",
      ["run", "--slug", `overhead-${via}`, "--prompt", prompt, "--json"],
      env,
      n,
      {
        via,
      },
    );
    rows.push({
      what: `dispatch overhead${via === "task" ? " via deno task" : ""} (run - direct)`,
      size: "-",
      median: r.median - d,
      min: r.min - d,
      max: r.max - d,
      n,
      unit: "ms",
      target: via === "run" ? "< 100 ms" : undefined,
    });
    log(`  overhead ${via}: ${(r.median - d).toFixed(0)} ms`);
  }
}

/** Peak RSS (VmHWM) of the dispatch-cc process for a run whose fake CLI streams `mb` MB of events. */
async function peakMemory(root: string) {
  const projects = `${root}/memory`;
  const env = baseEnv(projects, { DISPATCH_CC_BIN: FAKE });
  for (const mb of MEMORY_MB) {
    const events = Math.round((mb * 1024 * 1024) / 1450); // one streamed event is ~1,450 bytes
    const slug = `memory-${mb}`;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        ...MAIN,
        "run",
        "--slug",
        slug,
        "--prompt",
        `[[fake:stream ${events}]]`,
        "--json",
        "--timeout",
        "3600",
      ],
      env,
      clearEnv: true,
      cwd: REPO,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    let hwm = 0;
    const t0 = performance.now();
    const poll = setInterval(() => {
      try {
        const m = Deno.readTextFileSync(`/proc/${child.pid}/status`).match(/VmHWM:\s+(\d+) kB/);
        if (m) hwm = Math.max(hwm, Number(m[1]));
      } catch { /* exited */ }
    }, 20);
    const { code } = await child.status;
    clearInterval(poll);
    const secs = (performance.now() - t0) / 1000;
    let transcript = 0;
    for (const e of Deno.readDirSync(`${projects}/${slug}/.dispatch-logs`)) {
      if (e.name.endsWith("-events.jsonl")) {
        transcript += Deno.statSync(`${projects}/${slug}/.dispatch-logs/${e.name}`).size;
      }
    }
    const tMb = transcript / 1024 / 1024;
    rows.push({
      what: `peak RSS of run, ${tMb.toFixed(0)} MB transcript`,
      size: "-",
      median: hwm / 1024,
      min: hwm / 1024,
      max: hwm / 1024,
      n: 1,
      unit: "MB",
      target: "< 150 MB, flat",
      note: `exit ${code}, ${secs.toFixed(1)} s, ${events} events`,
    });
    log(
      `  peak RSS ${(hwm / 1024).toFixed(1)} MB for a ${tMb.toFixed(0)} MB transcript (exit ${code}, ${
        secs.toFixed(1)
      } s)`,
    );
    await Deno.remove(`${projects}/${slug}`, { recursive: true });
  }
}

/** Records one in-process measurement (not a dispatch-cc call): median over `n` runs of `work`. */
async function inProcess(what: string, size: string, n: number, work: () => Promise<unknown>, note?: string) {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await work();
    times.push(performance.now() - t0);
  }
  return timesRow(what, size, times, { note });
}

/** Records a row of times in ms (median and range) and logs it. */
function timesRow(what: string, size: string, times: number[], extra: Pick<Row, "target" | "note">): Row {
  const [min, max] = [Math.min(...times), Math.max(...times)];
  const row: Row = { what, size, median: median(times), min, max, n: times.length, unit: "ms", ...extra };
  rows.push(row);
  log(
    `  ${what.padEnd(34)} ${size.padStart(8)}  median ${row.median.toFixed(0).padStart(6)} ms  (${
      min.toFixed(0)
    }-${max.toFixed(0)}, n=${times.length})`,
  );
  return row;
}

/**
 * Issue 13 item 5: one huge stream line (a tool result) split into lines must take time linear in its
 * size (it was quadratic: 40 MB took 8 s). The line arrives in 64 KiB chunks, as from a pipe.
 */
async function streamLineSpeed() {
  log("stream line splitting (in process)");
  const perMb: number[] = [];
  for (const mb of quick ? [10, 40] : [10, 40, 100]) {
    const bytes = new Uint8Array(mb * 1024 * 1024).fill(97);
    const row = await inProcess(`one ${mb} MB stream line`, "-", quick ? 1 : 3, async () => {
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < bytes.length; i += 65536) c.enqueue(bytes.subarray(i, i + 65536));
          c.enqueue(new Uint8Array([10]));
          c.close();
        },
      });
      let total = 0;
      for await (const line of lines(stream)) total += line.length;
      if (total !== bytes.length) throw new Error("line lost");
    });
    perMb.push(row.median / mb);
  }
  rows.at(-1)!.note = `ms per MB: ${perMb.map((x) => x.toFixed(1)).join(", ")} (flat = linear)`;
}

/** Issue 13 item 5: `validate` of a task file with many keys must be linear (30,000 keys took 30 s). */
async function validateSpeed(root: string) {
  log("validate with many keys (in process)");
  for (const keys of quick ? [10_000, 30_000] : [10_000, 30_000, 60_000]) {
    const file = `${root}/keys-${keys}.yaml`;
    const body = Array.from({ length: keys }, (_, i) => `k${i}: v`).join("\n");
    await Deno.writeTextFile(file, `slug: a\nprompt: x\n${body}\n`);
    await inProcess(`validate, ${keys} unknown keys`, "-", 1, async () => {
      const r = await loadTaskFile(file);
      if (r.problems.length !== keys) throw new Error(`expected ${keys} problems, got ${r.problems.length}`);
    });
  }
}

async function machine(): Promise<string> {
  const cpu =
    (await Deno.readTextFile("/proc/cpuinfo").catch(() => "")).match(/model name\s*:\s*(.*)/)?.[1] ??
      "unknown";
  const memKb = Number(
    (await Deno.readTextFile("/proc/meminfo").catch(() => "")).match(/MemTotal:\s+(\d+)/)?.[1] ?? 0,
  );
  const load = (await Deno.readTextFile("/proc/loadavg").catch(() => "")).split(" ").slice(0, 3).join(" ");
  return `${cpu}, ${navigator.hardwareConcurrency} cores, ${(memKb / 1024 / 1024).toFixed(1)} GiB memory, ` +
    `deno ${Deno.version.deno} (v8 ${Deno.version.v8}), ${Deno.build.os} ${Deno.build.arch}; load average at the end ${load}`;
}

function report(machineLine: string, args: string): string {
  const fmt = (x: number, unit: string) => unit === "MB" ? x.toFixed(1) : x.toFixed(0);
  const lines = [
    "# dispatch-cc benchmarks",
    "",
    `Written by \`deno task bench${args ? " " + args : ""}\` on ${
      new Date().toISOString().slice(0, 16).replace("T", " ")
    } UTC.`,
    "",
    `Machine: ${machineLine}.`,
    "",
    `Each figure is one process per call, as users run it: \`deno run ${
      DENO_RUN_FLAGS.join(" ")
    } src/main.ts\``,
    "(start-up included), output discarded; median and range over n calls after one warm-up call. `cold` calls",
    "run with the cache folder (`.dispatch-index/`) deleted first. The projects are synthetic (bench/generate.ts):",
    "a third in the earlier bash tool's format, a few with thousands of runs.",
    "",
    "| what | projects | median | min | max | n | target | note |",
    "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ...rows.map((r) =>
      `| ${r.what} | ${r.size} | ${fmt(r.median, r.unit)} ${r.unit} | ${fmt(r.min, r.unit)} | ${
        fmt(r.max, r.unit)
      } | ${r.n} | ` +
      `${r.target ?? ""} | ${r.note ?? ""} |`
    ),
    "",
  ];
  return lines.join("\n");
}

const root = values.keep ?? await Deno.makeTempDir({ prefix: "dispatch-bench-" });
log(`bench in ${root}`);
try {
  if (only.has("list") || only.has("search") || only.has("status")) await scale(root);
  if (only.has("dispatch")) await dispatchOverhead(root);
  if (only.has("memory")) await peakMemory(root);
  if (only.has("parsing")) {
    await streamLineSpeed();
    await validateSpeed(root);
  }
  const text = report(await machine(), Deno.args.join(" "));
  await Deno.writeTextFile(outPath, text);
  console.log(text);
} finally {
  if (!values.keep) await Deno.remove(root, { recursive: true }).catch(() => {});
}
