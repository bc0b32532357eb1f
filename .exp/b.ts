import { LineCounter, parseAllDocuments } from "yaml";
let src = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
for (let i = 1; i < 30; i++) src += `a${i}: &a${i} [${Array(10).fill(`*a${i-1}`).join(", ")}]\n`;
src += "slug: x\nprompt: y\n";
const t = performance.now();
const docs = parseAllDocuments(src, { lineCounter: new LineCounter(), prettyErrors: false });
console.log("parsed", performance.now() - t);
for (const d of docs) { try { d.toJS({ maxAliasCount: 100 }); } catch (e) { console.log((e as Error).message, (e as Error).constructor.name); } }
console.log("done", performance.now() - t);
const d2 = parseAllDocuments("a: b\nc: [\nslug: 'x\n", { prettyErrors: false });
for (const d of d2) console.log(d.errors.map(e => e.message), d.errors.map(e=>e.linePos));
// comment only in multi doc
for (const s of ["slug: a\n---\n# c\n", "slug: a\n---\n", "# c\n", "   \n\n", "---\n", "- a\n- b\n", "just text\n", "slug: !foo x\n"]) {
  const lc = new LineCounter();
  const ds = parseAllDocuments(s, { lineCounter: lc, prettyErrors: false });
  console.log(JSON.stringify(s), ds.length, ds.map(d => [d.contents === null ? "null" : d.contents?.constructor.name, d.range, d.contents?.range, d.warnings.map(w=>w.message)]));
}
