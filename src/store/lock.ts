import { LockHeldError } from "../errors.ts";
import { writeJsonAtomic } from "./atomic.ts";
import { checkRegularFile, MAX_SMALL_FILE, parseJsonObject, readTextSafe } from "./files.ts";
import { isAlive, processStartTime, processStartTimeLike } from "./process_alive.ts";

/** What a lock file records about its holder. */
export interface LockInfo {
  pid: number;
  host: string;
  started: string;
  command: string;
  run_id: string;
  token: string;
  /** The Claude Code process, once started: a dispatcher killed with -9 may leave it running. */
  claude_pid?: number;
  /**
   * When `pid` / `claude_pid` started (`ticks:N`, boot-relative, see `processStartTime`; older versions
   * wrote `ps -o lstart`), recorded with them: a pid reused by another process after a crash is then not
   * taken for the holder, whatever the caller's time zone. Absent where it cannot be read.
   */
  pid_started?: string;
  claude_started?: string;
  /** The run's marker value (environment variable MARKER): how `cancel` finds Claude Code and its tools. */
  marker?: string;
  [extra: string]: unknown;
}

/** A held lock: update it (the Claude Code pid) and release it. */
export interface Lock {
  info: LockInfo;
  path: string;
  update(extra: Partial<LockInfo>): Promise<void>;
  release(): Promise<void>;
}

/** Why an existing lock is or is not in force. */
export type LockState =
  | { held: true; reason: string; info: LockInfo | null }
  | { held: false; reason: string; info: LockInfo | null };

const CORRUPT_GRACE_MS = 10_000;

/**
 * Decides whether a lock file's holder is still there. Pure apart from the liveness probe, which comes in
 * as a parameter. A lock from another host is held (its processes can't be checked from here); a lock
 * whose dispatcher is gone but whose Claude Code still runs is held too: a second specialist must never
 * start in the same project.
 */
export function lockState(
  text: string | null,
  ageMs: number,
  here: {
    host: string;
    alive: (pid: number) => boolean;
    started?: (pid: number, recorded: string) => string | null;
    /** The project's slug, for the message that says how to stop a run whose dispatcher is gone. */
    slug?: string;
  },
): LockState {
  const parsed = text === null ? null : parseJsonObject(text);
  if (!parsed || !parsed.ok || typeof parsed.value.pid !== "number") {
    return ageMs < CORRUPT_GRACE_MS
      ? { held: true, reason: "the lock is being written", info: null }
      : { held: false, reason: "the lock file is unreadable or corrupt", info: null };
  }
  const info = parsed.value as LockInfo;
  if (info.host !== here.host) {
    return { held: true, reason: `held by pid ${info.pid} on another host (${info.host})`, info };
  }
  if (isHolder(info.pid, info.pid_started, here)) {
    return {
      held: true,
      reason: `held by dispatch-cc pid ${info.pid} (${info.command}, since ${info.started})`,
      info,
    };
  }
  if (typeof info.claude_pid === "number" && isHolder(info.claude_pid, info.claude_started, here)) {
    return {
      held: true,
      reason:
        `its dispatcher (pid ${info.pid}) is gone but its Claude Code (pid ${info.claude_pid}) is still ` +
        `running; wait for it to finish or stop it: dispatch-cc cancel --slug ${here.slug ?? "SLUG"}`,
      info,
    };
  }
  return { held: false, reason: `dispatcher pid ${info.pid} (since ${info.started}) is gone`, info };
}

/**
 * Is `pid` alive and still the process the lock recorded? A recorded start time that differs from the
 * live process's means the pid was reused; with no start time on either side, liveness alone decides.
 */
function isHolder(
  pid: number,
  recorded: unknown,
  here: { alive: (pid: number) => boolean; started?: (pid: number, recorded: string) => string | null },
): boolean {
  if (!here.alive(pid)) return false;
  if (typeof recorded !== "string" || !here.started) return true;
  const now = here.started(pid, recorded);
  return now === null || now === recorded;
}

const LOCAL = { alive: isAlive, started: processStartTimeLike };

/** The slug of the project whose lock is at `<projects>/<slug>/.dispatch-logs/lock`. */
function slugOf(lockPath: string): string {
  const parts = lockPath.split("/");
  return parts.at(-3) ?? "SLUG";
}

/** Start times of the pids in `extra`, for the lock (see {@linkcode LockInfo.pid_started}). */
function withStartTimes(extra: Partial<LockInfo>): Partial<LockInfo> {
  const out: Partial<LockInfo> = { ...extra };
  if ("pid" in extra) {
    out.pid_started = typeof extra.pid === "number" ? processStartTime(extra.pid) ?? undefined : undefined;
  }
  if ("claude_pid" in extra) {
    out.claude_started = typeof extra.claude_pid === "number"
      ? processStartTime(extra.claude_pid) ?? undefined
      : undefined;
  }
  return out;
}

/** The lock's text (null when it is not a readable regular file: a FIFO there must not hang us). */
async function lockText(path: string): Promise<string | null> {
  const r = await readTextSafe(path, { maxBytes: MAX_SMALL_FILE });
  return r.ok ? r.text : null;
}

async function readLock(path: string): Promise<{ text: string | null; ageMs: number } | null> {
  const check = await checkRegularFile(path, { maxBytes: MAX_SMALL_FILE });
  if (!check.ok && check.problem === "missing") return null;
  const stat = check.ok ? check : await Deno.lstat(path).catch(() => null);
  if (stat === null) return null;
  return { text: await lockText(path), ageMs: Date.now() - (stat.mtime?.getTime() ?? Date.now()) };
}

/** Reads who holds a project's lock, for `status` and messages. */
export async function inspectLock(path: string): Promise<LockState | null> {
  const found = await readLock(path);
  if (!found) return null;
  return lockState(found.text, found.ageMs, { host: Deno.hostname(), ...LOCAL, slug: slugOf(path) });
}

/**
 * Takes the lock atomically (O_EXCL create). A stale lock is taken over with a message on `warn`; taking
 * over is itself serialized by a second O_EXCL file so that two processes cannot both replace it.
 * With `wait`, polls until the lock frees; otherwise a held lock throws LockHeldError at once.
 */
export async function acquireLock(
  path: string,
  holder: { command: string; run_id: string },
  opts: { wait?: boolean; warn: (message: string) => void; pollMs?: number; signal?: AbortSignal },
): Promise<Lock> {
  const info: LockInfo = {
    ...holder,
    pid: Deno.pid,
    host: Deno.hostname(),
    started: new Date().toISOString(),
    token: crypto.randomUUID(),
    ...withStartTimes({ pid: Deno.pid }),
  };
  let waitingSaid = false;
  while (true) {
    try {
      const file = await Deno.open(path, { write: true, createNew: true });
      try {
        await file.write(new TextEncoder().encode(JSON.stringify(info, null, 2) + "\n"));
      } finally {
        file.close();
      }
      return makeLock(path, info);
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
    const found = await readLock(path);
    if (!found) continue;
    const state = lockState(found.text, found.ageMs, { host: info.host, ...LOCAL, slug: slugOf(path) });
    if (!state.held) {
      if (await takeOverStale(path, found.text)) opts.warn(`taking over a stale lock: ${state.reason}`);
      continue;
    }
    if (!opts.wait) {
      throw new LockHeldError(
        `project is locked: ${state.reason}; retry later or pass --wait`,
        state.info ?? {},
      );
    }
    if (!waitingSaid) opts.warn(`waiting for the lock: ${state.reason}`);
    waitingSaid = true;
    if (opts.signal?.aborted) throw new LockHeldError(`gave up waiting for the lock: ${state.reason}`);
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}

/**
 * Removes a stale lock if it is still the one judged stale (read again under a guard file, so that a lock
 * another process took meanwhile is never removed); true when this process removed it.
 */
export async function takeOverStale(path: string, judged: string | null): Promise<boolean> {
  const guard = path + ".takeover";
  try {
    (await Deno.open(guard, { write: true, createNew: true })).close();
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    // Another process is taking over; a guard left by a crashed one expires.
    const stat = await Deno.stat(guard).catch(() => null);
    if (stat?.mtime && Date.now() - stat.mtime.getTime() > CORRUPT_GRACE_MS) {
      await Deno.remove(guard).catch(() => {});
    }
    await new Promise((r) => setTimeout(r, 50));
    return false;
  }
  try {
    const now = await lockText(path);
    if (now !== judged) return false;
    await Deno.remove(path).catch(() => {});
    return true;
  } finally {
    await Deno.remove(guard).catch(() => {});
  }
}

function makeLock(path: string, info: LockInfo): Lock {
  let released = false;
  return {
    info,
    path,
    async update(extra) {
      // A pid written here gets its start time; `claude_pid: undefined` (a step ended) drops both.
      Object.assign(info, withStartTimes(extra));
      if (!released) await writeJsonAtomic(path, info);
    },
    async release() {
      if (released) return;
      released = true;
      // Only remove the lock if it is still ours (a bug elsewhere must not delete someone else's lock).
      await removeLockIf(path, info.token);
    },
  };
}

/**
 * Takes over a lock that another process took for us and handed over by its token (a detached run: the
 * front end takes the lock, so that "lock held" is immediate, and the supervisor it starts adopts it).
 * Records this process as the holder. Throws LockHeldError when the lock is no longer the one handed over.
 */
export async function adoptLock(path: string, token: string, extra: Partial<LockInfo> = {}): Promise<Lock> {
  const text = await lockText(path);
  const parsed = text ? parseJsonObject(text) : null;
  if (!parsed?.ok || parsed.value.token !== token) {
    throw new LockHeldError("the lock handed to this run is gone or belongs to another run");
  }
  const info = {
    ...(parsed.value as LockInfo),
    ...withStartTimes({ ...extra, pid: Deno.pid }),
    host: Deno.hostname(),
  };
  const lock = makeLock(path, info);
  await lock.update({});
  return lock;
}

/** Removes the lock file only while it still carries `token`; true when it did. */
export async function removeLockIf(path: string, token: string): Promise<boolean> {
  const text = await lockText(path);
  const parsed = text ? parseJsonObject(text) : null;
  if (!parsed?.ok || parsed.value.token !== token) return false;
  await Deno.remove(path).catch(() => {});
  return true;
}
