import { z } from "zod";
import { TaskSpecSchema } from "../src/spec/schema.ts";
console.log(JSON.stringify(z.toJSONSchema(TaskSpecSchema, { io: "input" }), null, 2));
for (const input of [
  { slug: "a", prompt: "x", timeout: "10m", permission: "bypass", follow_ups: ["b", { prompt_file: "f", when: "always", timeout: 5 }], review: true, sandbox: { network: false } },
  { slug: ".a", prompt: " ", timeout: "0s", permission: "acceptedits", follow_ups: [{ promt: "x" }, { prompt: "x", timeout: true }, 5], review: { prompt: "a", prompt_file: "b" }, max_turns: 1.5, env: ["A-B"] },
  {},
  [],
]) {
  const r = TaskSpecSchema.safeParse(input);
  console.log(JSON.stringify(r.success ? r.data : r.error.issues));
}
