/**
 * The floor under the bench's figures, run as dispatch-cc is (`deno run` with its flags and permission
 * set): with no argument it does nothing (Deno's start-up alone); with `stats` it makes only the stats an
 * exact `list` cannot do without, one of each project's logs folder (a file added or renamed in it) and
 * one of its project.json (rewritten in place, as the earlier bash tool does).
 */
const dir = Deno.env.get("DISPATCH_PROJECTS_DIR") ?? ".";
if (Deno.args[0] === "stats") {
  for (const e of Deno.readDirSync(dir)) {
    if (!e.isDirectory || e.name.startsWith(".")) continue;
    for (const file of ["", "/project.json"]) {
      try {
        Deno.statSync(`${dir}/${e.name}/.dispatch-logs${file}`);
      } catch { /* a folder without logs */ }
    }
  }
}
