/**
 * Synthetic projects for the benchmarks, in the on-disk layout of DESIGN.md section 2: a third in the
 * earlier bash tool's format (project.json, CLAUDE.md, last-session-id, last-result.txt and one
 * `<stamp>-<pid>-result.json` per run holding Claude Code's final result object), the rest as dispatch-cc
 * writes them (plus `-run.json`, `-events.jsonl`, `-stderr.log`). A few projects have thousands of runs.
 *
 * Project `i` is the same whatever the size of the tree, so a tree grows from 100 to 100,000 projects by
 * adding the missing ones (`generateProjects(dir, 100, 1000)`), and every size is measured on one tree.
 *
 * @example
 * ```ts
 * const dir = await Deno.makeTempDir();
 * generateProjects(dir, 0, 100);
 * ```
 */

/** Found in the results of a handful of projects only (one per 10,000 from project 77 on). */
export const RARE_WORD = "quokka";
/** Found in about half of all results. */
export const COMMON_WORD = "tests";

/** Projects with thousands of runs: index -> number of runs. */
export const HEAVY: ReadonlyMap<number, number> = new Map([[3, 3000], [50, 2000], [5003, 4000], [
  50003,
  3000,
]]);

const WORDS = (
  "api endpoint handler route model schema migration database query index cache layer service client " +
  "server request response error status module function class method interface type config option " +
  "parser lexer token stream buffer file path folder build bundle deploy release version commit branch " +
  "refactor rename extract inline split merge review comment docs readme example benchmark profile " +
  "latency memory throughput retry timeout backoff queue worker job schedule cron log metric trace span " +
  "auth token session cookie header body json yaml toml csv html css layout component state store hook"
).split(" ");
const TOPICS = [
  "Flask REST API",
  "CLI for invoices",
  "data pipeline",
  "React dashboard",
  "Rust parser",
  "Go microservice",
  "scraper",
  "Terraform module",
  "Django admin",
  "ETL job",
];

/** A small deterministic PRNG (mulberry32), so that project `i` is always the same. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function uuid(r: () => number): string {
  const h = () => Math.floor(r() * 16).toString(16);
  const part = (n: number) => Array.from({ length: n }, h).join("");
  return `${part(8)}-${part(4)}-4${part(3)}-a${part(3)}-${part(12)}`;
}

function sentence(r: () => number, withCommon: boolean): string {
  const n = 6 + Math.floor(r() * 10);
  const words = Array.from({ length: n }, () => WORDS[Math.floor(r() * WORDS.length)]);
  if (withCommon) words.splice(Math.floor(r() * n), 0, COMMON_WORD);
  const s = words.join(" ");
  return s[0].toUpperCase() + s.slice(1) + ".";
}

/**
 * A result text of one to six KB (about three on average), in paragraphs: the size of the earlier tool's
 * real results, whose search texts this tree must weigh as much as.
 */
function resultText(r: () => number, i: number, run: number): string {
  const paras: string[] = [];
  const n = 3 + Math.floor(r() * 6);
  for (let p = 0; p < n; p++) {
    const lines = Array.from({ length: 4 + Math.floor(r() * 6) }, () => sentence(r, r() < 0.15));
    paras.push(lines.join(" "));
  }
  if (i % 10_000 === 77 && run === 0) paras.push(`Named the test fixture ${RARE_WORD}-service.`);
  return `Done (run ${run + 1}).\n\n` + paras.join("\n\n");
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

function localStamp(d: Date): string {
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}-` +
    `${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
}

const utc = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z");

/** The slug of project `i`. */
export function slugOf(i: number): string {
  return `p${pad(i, 6)}-${TOPICS[i % TOPICS.length].toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
}

const enc = new TextEncoder();
const write = (path: string, text: string) => Deno.writeFileSync(path, enc.encode(text));

/** Writes projects `from` (inclusive) to `to` (exclusive) into `dir`; returns the number of files written. */
export function generateProjects(dir: string, from: number, to: number): number {
  let files = 0;
  const base = Date.UTC(2024, 0, 1);
  for (let i = from; i < to; i++) {
    const r = rng(i * 7919 + 1);
    const slug = slugOf(i);
    const legacy = i % 3 === 0;
    const pdir = `${dir}/${slug}`;
    const logs = `${pdir}/.dispatch-logs`;
    Deno.mkdirSync(logs, { recursive: true });
    const runs = HEAVY.get(i) ?? 1 + Math.floor(r() * 5);
    const description = `${TOPICS[i % TOPICS.length]} ${sentence(r, false).toLowerCase().slice(0, 70)}`;
    const created = new Date(base + i * 60_000);
    let t = created.getTime();
    let session = uuid(r);
    let last = "";
    for (let k = 0; k < runs; k++) {
      t += 60_000 + Math.floor(r() * 3_600_000);
      const start = new Date(t);
      const id = `${localStamp(start)}-${10000 + Math.floor(r() * 50000)}`;
      if (k % 4 === 0) session = uuid(r);
      const text = resultText(r, i, k);
      const duration = 5000 + Math.floor(r() * 600_000);
      const turns = 1 + Math.floor(r() * 40);
      const cost = Math.round(r() * 300) / 100;
      const denied = r() < 0.05;
      const isError = !denied && r() < 0.05;
      const result = {
        type: "result",
        subtype: isError ? "error_during_execution" : "success",
        is_error: isError,
        duration_ms: duration,
        duration_api_ms: Math.floor(duration * 0.8),
        num_turns: turns,
        result: text,
        stop_reason: "end_turn",
        session_id: session,
        total_cost_usd: cost,
        usage: {
          input_tokens: 1200 + turns * 300,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 9000,
          output_tokens: 800,
        },
        modelUsage: { "claude-opus-5-5": { inputTokens: 1200, outputTokens: 800, costUSD: cost } },
        permission_denials: denied
          ? [{ tool_name: "Bash", tool_use_id: "toolu_1", tool_input: { command: "rm -rf build" } }]
          : [],
        uuid: uuid(r),
      };
      write(`${logs}/${id}-result.json`, JSON.stringify(result) + "\n");
      files++;
      if (!legacy) {
        const status = isError ? "error" : denied ? "blocked" : "success";
        const record = {
          version: 1,
          run_id: id,
          slug,
          project_dir: pdir,
          command: k === 0 ? "run" : "resume",
          status,
          exit_code: status === "success" ? 0 : status === "error" ? 1 : 4,
          error: isError ? text.slice(0, 80) : null,
          session_id: session,
          session_mode: k % 4 === 0 ? "new" : "resume",
          result: text,
          num_turns: turns,
          duration_ms: duration,
          cost_usd: cost,
          usage: result.usage,
          stop_reason: "end_turn",
          model: "claude-opus-5-5",
          permission: "acceptEdits",
          timeout_s: 600,
          permission_denials: denied ? [{ tool: "Bash", input: { command: "rm -rf build" } }] : [],
          tool_errors: [],
          tool_calls: turns,
          files_touched: [`${pdir}/src/app.py`],
          started: start.toISOString(),
          ended: new Date(t + duration).toISOString(),
          pid: 4242,
          host: "bench",
          record_file: `${logs}/${id}-run.json`,
          result_file: `${logs}/${id}-result.json`,
          transcript_file: `${logs}/${id}-events.jsonl`,
          stderr_file: `${logs}/${id}-stderr.log`,
        };
        write(`${logs}/${id}-run.json`, JSON.stringify(record, null, 2) + "\n");
        write(
          `${logs}/${id}-events.jsonl`,
          JSON.stringify({ type: "system", subtype: "init", session_id: session }) + "\n" +
            JSON.stringify({
              type: "assistant",
              message: { content: [{ type: "text", text: text.slice(0, 500) }] },
            }) + "\n" +
            JSON.stringify(result) + "\n",
        );
        write(`${logs}/${id}-stderr.log`, "");
        files += 3;
      }
      last = text;
    }
    const updated = new Date(t);
    write(`${pdir}/CLAUDE.md`, `# Project: ${slug}\n\n${description}\n`);
    write(
      `${logs}/project.json`,
      JSON.stringify({ slug, description, created: utc(created), updated: utc(updated) }, null, 2) + "\n",
    );
    write(`${logs}/last-session-id`, session + "\n");
    write(`${logs}/last-result.txt`, last + "\n");
    files += 4;
  }
  return files;
}
