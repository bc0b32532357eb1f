/**
 * Runs one child process under supervision: prompt on stdin, stdout read line by line as it arrives,
 * stderr to a file, a timeout and an abort signal that end the whole tree (TERM to the child's process
 * group, KILL after a grace period, then a sweep of every process carrying the run's marker), and a
 * sweep after a normal exit too, since tool processes detached with `setsid` outlive the CLI.
 */
import { LineSplitter } from "./lines.ts";
import { endHolders, outputPipes, pipeHolders } from "./pipe_holders.ts";
import { sleep } from "./sleep.ts";
import { sweep, type SweptProcess } from "./sweep.ts";

export interface SuperviseOptions {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  stdin: string;
  timeoutMs: number;
  /** Time between TERM and KILL. */
  graceMs: number;
  /** The environment variable (already in `env`) that marks every process of this run. */
  marker: { name: string; value: string };
  stderrPath: string;
  /** Aborted by SIGINT/SIGTERM to dispatch-cc or by `cancel`; the reason says which. */
  signal?: AbortSignal;
  onSpawn?: (pid: number) => void | Promise<void>;
  onLine: (line: string) => void | Promise<void>;
}

export interface Supervised {
  ended: "exit" | "timeout" | "interrupted" | "cancelled" | "spawn_failed";
  exitCode: number | null;
  signal: string | null;
  stderrTail: string;
  spawnError?: string;
  /** Processes of the run still alive after the child ended, and how they were ended. */
  swept: SweptProcess[];
  pid: number | null;
}

const TAIL_BYTES = 4096;
/**
 * After the child exited and the sweep ran, how long its pipes may take to reach end of file before
 * whoever still holds them is looked for (a process that escaped the marker), and again after those were
 * ended before reading stops regardless: the child's exit and the deadline end the reading.
 */
const DRAIN_MS = 1000;

/** Resolves true when `p` settled within `ms`, false otherwise. */
async function settledWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((r) => timer = setTimeout(() => r(false), ms));
  try {
    return await Promise.race([p.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

function killGroup(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(-pid, sig);
  } catch {
    try {
      Deno.kill(pid, sig);
    } catch { /* already gone */ }
  }
}

export async function supervise(opts: SuperviseOptions): Promise<Supervised> {
  // Opened before the child starts: once it runs, nothing may fail between its start and its supervision.
  const stderrFile = await Deno.open(opts.stderrPath, { write: true, create: true, truncate: true });
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(opts.command, {
      args: opts.args,
      cwd: opts.cwd,
      env: opts.env,
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      // Own session and process group: the group can be signalled as a whole, and a Ctrl-C in the
      // caller's terminal reaches us, not the child; we forward it ourselves.
      detached: true,
    }).spawn();
  } catch (err) {
    stderrFile.close();
    const msg = err instanceof Error ? err.message : String(err);
    return {
      ended: "spawn_failed",
      exitCode: null,
      signal: null,
      stderrTail: "",
      spawnError: msg,
      swept: [],
      pid: null,
    };
  }
  const pid = child.pid;
  // The pipes' names, read while the child is alive: a process still holding them after it exits is found
  // by them.
  const pipes = outputPipes(pid);

  let ended: Supervised["ended"] = "exit";
  let stopping: Promise<void> | null = null;
  let exited = false;
  const stop = (why: Exclude<Supervised["ended"], "exit" | "spawn_failed">) => {
    if (stopping) return stopping;
    ended = why;
    stopping = (async () => {
      killGroup(pid, "SIGTERM");
      const deadline = Date.now() + opts.graceMs;
      while (!exited && Date.now() < deadline) await sleep(50);
      if (!exited) killGroup(pid, "SIGKILL");
    })();
    return stopping;
  };
  // A timer cannot wait longer than 2^31 - 1 ms (it would fire at once); the parsers refuse more.
  const timer = setTimeout(() => stop("timeout"), Math.min(opts.timeoutMs, 2 ** 31 - 1));
  const onAbort = () => {
    const reason = opts.signal?.reason;
    stop(reason === "cancelled" ? "cancelled" : "interrupted");
  };

  // The first failure of our own (writing the transcript, saving the session): the child is still
  // drained and ended properly, then the failure is raised instead of a misleading classification.
  let failure: unknown = null;
  const guard = async (work: () => void | Promise<void>) => {
    if (failure !== null) return;
    try {
      await work();
    } catch (err) {
      failure = err;
      stop("interrupted");
    }
  };

  // Write the prompt and close stdin while stdout is being read: a large prompt fills the pipe otherwise.
  const writing = (async () => {
    const writer = child.stdin.getWriter();
    try {
      await writer.write(new TextEncoder().encode(opts.stdin));
      await writer.close();
    } catch { /* the child exited before reading all of it */ }
  })();

  let tail = new Uint8Array(0);
  const errReader = child.stderr.getReader();
  const readingErr = (async () => {
    try {
      while (true) {
        const { value: chunk, done } = await errReader.read();
        if (done) break;
        await guard(() => stderrFile.write(chunk).then(() => {}));
        const joined = new Uint8Array(tail.length + chunk.length);
        joined.set(tail);
        joined.set(chunk, tail.length);
        tail = joined.slice(Math.max(0, joined.length - TAIL_BYTES));
      }
    } finally {
      stderrFile.close();
    }
  })();

  const outReader = child.stdout.getReader();
  const readingOut = (async () => {
    const split = new LineSplitter();
    let ready: string[] = [];
    const collect = (l: string) => ready.push(l);
    const deliver = async () => {
      const out = ready;
      ready = [];
      for (const line of out) await guard(() => opts.onLine(line));
    };
    while (true) {
      const { value, done } = await outReader.read();
      if (done) break;
      split.push(value, collect);
      await deliver();
    }
    split.end(collect);
    await deliver();
  })();

  let status: Deno.CommandStatus;
  try {
    await guard(() => opts.onSpawn?.(pid));
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener("abort", onAbort);
    status = await child.status;
  } finally {
    exited = true;
    clearTimeout(timer);
    opts.signal?.removeEventListener("abort", onAbort);
  }
  await stopping;
  // Tool processes may still hold the pipes open; the sweep ends them, then the readers finish.
  const swept = await sweep(opts.marker.name, opts.marker.value);
  const reading = Promise.allSettled([writing, readingOut, readingErr]);
  if (!(await settledWithin(reading, DRAIN_MS))) {
    // Something outside the marker (`env -i setsid ... > /proc/<pid>/fd/1`) keeps a pipe open: a leftover
    // of the run like the others, ended and reported; then the reading ends whatever else holds the pipe.
    const holders = (await pipeHolders(await pipes)).filter((h) => !swept.some((s) => s.pid === h.pid));
    swept.push(...await endHolders(holders, opts.graceMs > 0 ? Math.min(opts.graceMs, 2000) : 0));
    if (!(await settledWithin(reading, DRAIN_MS))) {
      await Promise.allSettled([outReader.cancel(), errReader.cancel()]);
    }
  }
  await reading;
  if (failure !== null) throw failure;
  return {
    ended,
    exitCode: status.signal ? null : status.code,
    signal: status.signal ?? null,
    stderrTail: new TextDecoder().decode(tail),
    swept,
    pid,
  };
}
