/**
 * npm run gen:schema
 * Writes what is generated from config/schema.ts: schema/stack-config.schema.json (the JSON Schema
 * of a whole Pulumi.<stack>.yaml) and the `config:` declarations of Pulumi.yaml (the rest of that
 * file, comments included, is kept). test/config-schema.test.ts fails while either is stale.
 */
import * as fs from "fs";
import * as path from "path";
import * as prettier from "prettier";
import { parseDocument } from "yaml";
import { projectConfigDeclarations, STACK_FILE_SCHEMA_PATH, stackFileJsonSchema } from "../config/stackFile";

const ROOT = path.resolve(__dirname, "..");
export const PROJECT_FILE = path.join(ROOT, "Pulumi.yaml");
export const SCHEMA_FILE = path.join(ROOT, STACK_FILE_SCHEMA_PATH);

const CONFIG_COMMENT =
  " The project's config keys as Pulumi declares them (type, description, default), generated from\n" +
  " config/schema.ts by `npm run gen:schema`; the program itself checks every value in full.\n" +
  " The secret homeops:onepasswordServiceAccountToken is not declared: Pulumi would require it of\n" +
  " every stack, and it is optional (onepassword.auth: account needs none).";

async function formatted(text: string, file: string): Promise<string> {
  const options = (await prettier.resolveConfig(file)) ?? {};
  return prettier.format(text, { ...options, filepath: file });
}

/** schema/stack-config.schema.json as it must be committed. */
export function renderSchemaFile(): Promise<string> {
  return formatted(JSON.stringify(stackFileJsonSchema(), null, 2), SCHEMA_FILE);
}

/** Pulumi.yaml (given its current text) with the generated `config:` block. */
export function renderProjectFile(current: string): Promise<string> {
  const document = parseDocument(current);
  const config = document.createNode(projectConfigDeclarations());
  config.commentBefore = CONFIG_COMMENT;
  document.set("config", config);
  return formatted(document.toString({ lineWidth: 0 }), PROJECT_FILE);
}

async function main(): Promise<void> {
  fs.mkdirSync(path.dirname(SCHEMA_FILE), { recursive: true });
  fs.writeFileSync(SCHEMA_FILE, await renderSchemaFile());
  fs.writeFileSync(PROJECT_FILE, await renderProjectFile(fs.readFileSync(PROJECT_FILE, "utf8")));
  process.stdout.write(`wrote ${path.relative(ROOT, SCHEMA_FILE)} and the config block of Pulumi.yaml\n`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  });
}
