/**
 * The real machine behind `doctor`'s checks: PATH lookups, short `--version` questions with a time
 * limit, file reads, an exclusive-create probe in the projects folder, `/proc/mounts`.
 *
 * @module
 */
import { join, resolve } from "../paths.ts";
import { isExecutableFile, which } from "../which.ts";
import type { DoctorProbe, ProgramRun } from "./checks.ts";
import { mountOf } from "./filesystem.ts";

/** How long a `--version` question may take (a CLI's first start can be slow on a loaded machine). */
const PROGRAM_TIMEOUT_MS = 20_000;

/** Runs a program briefly with the caller's environment, stdin closed; never throws. */
async function runProgram(bin: string, args: string[], env: Record<string, string>): Promise<ProgramRun> {
  try {
    const out = await new Deno.Command(bin, {
      args,
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(PROGRAM_TIMEOUT_MS),
    }).output();
    const dec = new TextDecoder();
    const text = (dec.decode(out.stdout) + "\n" + dec.decode(out.stderr)).trim();
    return { ok: out.success, output: out.signal ? `${text} (ended by ${out.signal})`.trim() : text };
  } catch (err) {
    return { ok: false, output: err instanceof Error ? err.message : String(err) };
  }
}

const message = (err: unknown) => err instanceof Error ? err.message : String(err);

/**
 * The probe for this machine and environment.
 *
 * @example
 * ```ts
 * const probe = realProbe(Deno.env.toObject(), "/home/me/dispatch-projects", Deno.cwd());
 * ```
 */
export function realProbe(env: Record<string, string>, projectsDir: string, userCwd: string): DoctorProbe {
  let uid: number | null = null;
  try {
    uid = Deno.uid();
  } catch { /* not on this OS, or not granted */ }
  return {
    env,
    os: Deno.build.os,
    uid,
    projectsDir,
    userCwd,
    which: (name) => which(name, env.PATH),
    isExecutable: (path) => isExecutableFile(path),
    runProgram: (bin, args) => runProgram(bin, args, env),
    readText: (path) => Deno.readTextFile(path).catch(() => null),
    exists: (path) => Deno.stat(path).then(() => true, () => false),
    kind: async (path) => {
      try {
        return (await Deno.stat(path)).isDirectory ? "directory" : "other";
      } catch (err) {
        return err instanceof Deno.errors.NotFound ? "missing" : { error: message(err) };
      }
    },
    async exclusiveCreate(dir) {
      const path = join(dir, `.dispatch-doctor-${Deno.pid}-${Date.now()}`);
      try {
        (await Deno.open(path, { write: true, createNew: true })).close();
      } catch (err) {
        return { writable: false, exclusive: false, error: message(err) };
      }
      try {
        let exclusive = false;
        try {
          (await Deno.open(path, { write: true, createNew: true })).close();
        } catch (err) {
          exclusive = err instanceof Deno.errors.AlreadyExists;
        }
        return { writable: true, exclusive, error: null };
      } finally {
        await Deno.remove(path).catch(() => {});
      }
    },
    async fileSystemType(path) {
      // Deno grants /proc only to a program with every permission; `cat` is a program, and may read it.
      const cat = await runProgram("cat", ["/proc/mounts"], env);
      const mounts = cat.ok ? cat.output : await Deno.readTextFile("/proc/mounts").catch(() => null);
      if (mounts === null) return null;
      const real = await Deno.realPath(path).catch(() => resolve(path));
      return mountOf(mounts, real);
    },
    async listFolder(path) {
      try {
        const out: { name: string; size: number; readable: boolean }[] = [];
        for await (const e of Deno.readDir(path)) {
          const full = join(path, e.name);
          const st = await Deno.stat(full).catch(() => null);
          let readable = st !== null;
          if (st?.isFile) {
            readable = await Deno.open(full, { read: true }).then((f) => (f.close(), true), () => false);
          } else if (st?.isDirectory) {
            readable = await Array.fromAsync(Deno.readDir(full)).then(() => true, () => false);
          }
          out.push({ name: e.name, size: st?.size ?? 0, readable });
        }
        return out.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
      } catch {
        return null;
      }
    },
  };
}
