import type { Command } from "./context.ts";
import { COMMON_OPTIONS } from "./dispatch_options.ts";
import { parseOptions } from "./options.ts";
import { EXIT } from "../exit_codes.ts";
import { schemaText } from "../spec/commands.ts";

const options = { ...COMMON_OPTIONS };

export const schemaCommand: Command = {
  name: "schema",
  summary: "print the task file JSON Schema (for editors; same as tasks.example/task.schema.json)",
  usage: "dispatch-cc schema",
  options,
  details: "Editors with YAML support read it from a first line like\n" +
    "  # yaml-language-server: $schema=./task.schema.json\n" +
    "--json prints the same schema (it is JSON already).",
  run(argv) {
    parseOptions("schema", argv, options);
    const text = schemaText();
    return Promise.resolve({ exitCode: EXIT.success, json: JSON.parse(text), text });
  },
};
