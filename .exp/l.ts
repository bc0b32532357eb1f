import { formatProblem, loadTaskFile } from "../src/spec/load.ts";
const files: Record<string, string> = {
  "/t/a.yaml": `# yaml-language-server: $schema=./task.schema.json
slug: .bad
promt: hi
timeout: -5
permission: acceptedits
follow_ups:
  - do more
  - prompt: x
    timeout: true
  - prompt_file: missing.md
  - 5
review:
  prompt: a
  prompt_file: b.md
sandbox: {netwrk: false}
---
slug: good
prompt_file: p.md
max_turns: 3
follow_ups: [a, {prompt: b, when: always, permission: plan}]
review: true
---
# only comments
---
- a
---
description: no slug
prompt:
`,
  "/t/p.md": "Hello from file\n",
};
const read = (p: string) => p in files ? Promise.resolve(files[p]) : Promise.reject(new Deno.errors.NotFound(p));
const stat = (p: string) => p in files ? Promise.resolve({ size: files[p].length, isFile: true }) : Promise.reject(new Deno.errors.NotFound(p));
const r = await loadTaskFile("/t/a.yaml", read, stat);
console.log(r.problems.map(formatProblem).join("\n"));
console.log(JSON.stringify(r.tasks, null, 1));
