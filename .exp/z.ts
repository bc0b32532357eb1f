import { z } from "zod";
const T = z.union([z.number().positive(), z.string().regex(/^\d+[smh]$/)]);
const F = z.strictObject({ prompt: z.string().optional(), prompt_file: z.string().optional(), timeout: T.optional() })
  .superRefine((v, ctx) => { if ((v.prompt === undefined) === (v.prompt_file === undefined)) ctx.addIssue({ code: "custom", message: "exactly one", path: [] }); });
const S = z.strictObject({ slug: z.string(), follow_ups: z.array(z.union([z.string(), F])).optional() });
for (const input of [
  { slug: "a", follow_ups: [{ promt: "x" }] },
  { slug: "a", follow_ups: [{ prompt: "x", timeout: -5 }] },
  { slug: "a", follow_ups: [{ prompt: "x", timeout: true }] },
  { slug: "a", follow_ups: [5] },
  { slug: 5, extra: 1 },
]) {
  const r = S.safeParse(input);
  console.log(JSON.stringify(r.success ? r.data : r.error.issues, null, 1));
}
