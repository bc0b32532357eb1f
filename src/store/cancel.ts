/**
 * The cancel request: `.dispatch-logs/cancel-request`, written by `cancel` before it signals the
 * dispatcher, so that the dispatcher's signal handling can tell "cancelled" from "interrupted". It names
 * the lock (by token) it was meant for, so a request left behind never cancels a later run.
 */
import { join } from "../paths.ts";
import { writeJsonAtomic } from "./atomic.ts";
import { MAX_SMALL_FILE, readJsonObjectSafeSync } from "./files.ts";

export const CANCEL_FILE = "cancel-request";

export function cancelPath(logsDir: string): string {
  return join(logsDir, CANCEL_FILE);
}

export interface CancelRequest {
  token: string;
  run_id: string;
  requested: string;
  by_pid: number;
}

export function writeCancelRequest(logsDir: string, req: CancelRequest): Promise<void> {
  return writeJsonAtomic(cancelPath(logsDir), req);
}

/**
 * Was the run holding the lock with this token asked to cancel? Synchronous: it is called from an
 * abort listener.
 */
export function cancelRequested(logsDir: string, token: string): boolean {
  const r = readJsonObjectSafeSync(cancelPath(logsDir), { maxBytes: MAX_SMALL_FILE });
  return r.ok && r.value.token === token;
}

/** Removes the request if it is the one for this token (or any, without a token). */
export async function clearCancelRequest(logsDir: string, token?: string): Promise<void> {
  if (token !== undefined && !cancelRequested(logsDir, token)) return;
  await Deno.remove(cancelPath(logsDir)).catch(() => {});
}
