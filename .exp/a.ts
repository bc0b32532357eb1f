import { LineCounter, parseAllDocuments, isMap, isScalar, isPair } from "yaml";
function show(src: string) {
  const lc = new LineCounter();
  const docs = parseAllDocuments(src, { lineCounter: lc, prettyErrors: true });
  console.log("----", JSON.stringify(src.slice(0, 60)));
  if (!Array.isArray(docs)) { console.log("EmptyStream?", docs); return; }
  for (const d of docs) {
    console.log("doc range", d.range, "contents null?", d.contents === null, "errors", d.errors.map(e => [e.code, e.message, e.pos, e.linePos]), "warnings", d.warnings.map(e=>e.message));
    try { console.log(JSON.stringify(d.toJS({ maxAliasCount: 100 })).slice(0, 100)); } catch (e) { console.log("toJS err", (e as Error).name, (e as Error).message); }
  }
}
show("");
show("# only comment\n");
show("slug: a\nprompt: x\n---\nslug: b\n\tprompt: y\n");
show("slug: a\nslug: b\n");
show("slug: [a\n");
show("a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n");
show("a: *nope\n");
show("---\n---\nslug: a\n");
show("a: b\n  c: d\n");
show("key: 'unterminated\n");
