/**
 * `deno task compile`: builds dist/dispatch-cc with the declared permission set ("dispatch" in deno.json)
 * and V8 flag (src/run_flags.ts), so the binary has exactly the grants and heap of `deno task dispatch-cc`.
 *
 * `deno compile` needs a `denort` base binary of the same Deno version, which it downloads from Deno's
 * own server unless DENORT_BIN names one. Where neither works this fails with a message that says so.
 */
import { fileURLToPath } from "node:url";
import { V8_FLAG } from "../src/run_flags.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = Deno.args[0] ?? `${root}dist/dispatch-cc`;
const args = [
  "compile",
  "--config",
  `${root}deno.json`,
  "-P=dispatch",
  "--no-prompt",
  V8_FLAG,
  "--output",
  out,
  `${root}src/main.ts`,
];
const denort = Deno.env.get("DENORT_BIN");
console.error(`deno ${args.join(" ")}${denort ? `   (base binary: DENORT_BIN=${denort})` : ""}`);
const result = await new Deno.Command(Deno.execPath(), { args, stdout: "inherit", stderr: "piped" }).output();
const stderr = new TextDecoder().decode(result.stderr);
if (result.code === 0) {
  console.error(`built ${out}`);
  Deno.exit(0);
}
const version = Deno.version.deno;
if (denort) {
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
Deno.exit(1);
