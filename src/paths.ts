/**
 * POSIX path helpers with node:path's results (tests/paths.test.ts checks them against it). Not node:path
 * itself: the first `node:` import starts Deno's Node compatibility layer, ~10 ms of every start-up, a fifth
 * of the budget of `status` (bench/RESULTS.md). dispatch-cc runs on Linux and macOS only (it needs /proc or
 * ps, /bin/sh and bubblewrap), so "/" is the only separator.
 */

/** The separator of PATH-like lists. */
export const delimiter = ":";

/** `path` with "." and ".." segments resolved and repeated slashes merged ("." for an empty result). */
export function normalize(path: string): string {
  if (path === "") return ".";
  const absolute = path.startsWith("/");
  const out: string[] = [];
  for (const seg of path.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (out.length && out[out.length - 1] !== "..") out.pop();
      else if (!absolute) out.push("..");
    } else out.push(seg);
  }
  const body = out.join("/");
  const trailing = path.endsWith("/");
  if (absolute) return `/${body}${trailing && body !== "" ? "/" : ""}`;
  return (body === "" ? "." : body) + (trailing ? "/" : "");
}

/** The parts joined with "/" and normalized; empty parts are skipped. */
export function join(...parts: string[]): string {
  const joined = parts.filter((p) => p !== "").join("/");
  return joined === "" ? "." : normalize(joined);
}

/**
 * `dir` and a slash when, for any plain file name (no slash, not "." or ".."), `join(dir, name)` is exactly
 * that followed by the name (`dir` is already normal and not "."); else null. For readers that join many
 * names to one folder: one check instead of a normalization per name.
 *
 * @example
 * ```ts
 * folderPrefix("/p/.dispatch-logs"); // "/p/.dispatch-logs/"
 * folderPrefix("/p/./logs/"); // null: join("/p/./logs/", "x") is "/p/logs/x"
 * ```
 */
export function folderPrefix(dir: string): string | null {
  return dir !== "" && dir !== "." && !dir.endsWith("/") && normalize(dir) === dir ? dir + "/" : null;
}

export function isAbsolute(path: string): boolean {
  return path.startsWith("/");
}

/** An absolute, normalized path without a trailing slash: the parts resolved from the right, then cwd. */
export function resolve(...parts: string[]): string {
  let path = "";
  for (let i = parts.length - 1; i >= 0 && !path.startsWith("/"); i--) {
    if (parts[i] !== "") path = path === "" ? parts[i] : `${parts[i]}/${path}`;
  }
  if (!path.startsWith("/")) path = path === "" ? Deno.cwd() : `${Deno.cwd()}/${path}`;
  const n = normalize(path);
  return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
}

/** The folder part of `path`: everything before its last segment, without the one slash after it. */
export function dirname(path: string): string {
  if (path === "") return ".";
  let end = -1;
  let inSegment = false;
  for (let i = path.length - 1; i >= 1; i--) {
    if (path[i] !== "/") inSegment = true;
    else if (inSegment) {
      end = i;
      break;
    }
  }
  const rooted = path.startsWith("/");
  if (end === -1) return rooted ? "/" : ".";
  return rooted && end === 1 ? "//" : path.slice(0, end);
}

/** The last segment of `path`. */
export function basename(path: string): string {
  const trimmed = path.replace(/(?<=.)\/+$/, "");
  if (trimmed === "/") return "";
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

/** The path from `from` to `to`, both resolved first ("" when they are the same). */
export function relative(from: string, to: string): string {
  const a = resolve(from).split("/").filter(Boolean);
  const b = resolve(to).split("/").filter(Boolean);
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return [...a.slice(i).map(() => ".."), ...b.slice(i)].join("/");
}

/** The path of a `file:` URL (node:url's fileURLToPath on POSIX, for the URLs of this program's modules). */
export function fileUrlPath(url: URL): string {
  if (url.protocol !== "file:" || url.hostname !== "") {
    throw new TypeError(`not a local file URL: ${url.href}`);
  }
  return decodeURIComponent(url.pathname);
}
