import { validateFiles } from "../src/spec/commands.ts";
import { formatProblem } from "../src/spec/load.ts";
const r = await validateFiles(Deno.args);
console.log(r.ok, r.tasks, r.problems.map(formatProblem));
