/**
 * The generated artefacts of config/schema.ts stay current and mean what they say: the JSON Schema
 * of the stack file (editors) and Pulumi.yaml's config declarations (the Pulumi CLI).
 */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { projectConfigDeclarations, STACK_FILE_SCHEMA_PATH } from "../config/stackFile";
import { PROJECT_FILE, renderProjectFile, renderSchemaFile, SCHEMA_FILE } from "../scripts/gen-schema";
import { HOME_OPS_RAW_CONFIG } from "./helpers/badInputs";
import {
  pulumiConfigRefusal,
  readYaml,
  REPO_ROOT,
  stackFileOf,
  stackFileSchemaErrors,
} from "./helpers/stackFileSchema";

const STALE = "is stale: run `npm run gen:schema` and commit the result";

const STACK_FILE_NAME = /^Pulumi\.[^.]+\.ya?ml$/;

/** Every committed stack file (Pulumi.<stack>.yaml, anywhere; every one on disk outside a git checkout). */
function committedStackFiles(): string[] {
  try {
    const tracked = execFileSync("git", ["ls-files", "-z"], { cwd: REPO_ROOT, encoding: "utf8", stdio: "pipe" });
    return tracked.split("\0").filter((file) => STACK_FILE_NAME.test(path.basename(file)));
  } catch {
    const skipped = new Set(["node_modules", ".git", ".pulumi", "out", "bin"]);
    const found: string[] = [];
    const visit = (dir: string): void => {
      for (const entry of fs.readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true })) {
        const relative = path.join(dir, entry.name);
        if (entry.isDirectory() && !skipped.has(entry.name)) visit(relative);
        else if (entry.isFile() && STACK_FILE_NAME.test(entry.name)) found.push(relative);
      }
    };
    visit("");
    return found;
  }
}

describe("config: generated schema files", () => {
  it(`${STACK_FILE_SCHEMA_PATH} is what config/schema.ts generates`, async () => {
    assert.equal(fs.readFileSync(SCHEMA_FILE, "utf8"), await renderSchemaFile(), `${STACK_FILE_SCHEMA_PATH} ${STALE}`);
  });

  it("Pulumi.yaml declares the config keys config/schema.ts generates", async () => {
    const current = fs.readFileSync(PROJECT_FILE, "utf8");
    assert.equal(current, await renderProjectFile(current), `the config block of Pulumi.yaml ${STALE}`);
  });

  it("every committed stack file names the schema on its first line and validates against it", () => {
    const files = committedStackFiles();
    assert.ok(files.includes("Pulumi.home-ops.yaml"), files.join(", "));
    for (const file of files) {
      const schema = path
        .relative(path.dirname(path.join(REPO_ROOT, file)), SCHEMA_FILE)
        .split(path.sep)
        .join("/");
      const firstLine = fs.readFileSync(path.join(REPO_ROOT, file), "utf8").split("\n")[0];
      assert.equal(firstLine, `# yaml-language-server: $schema=${schema.startsWith(".") ? "" : "./"}${schema}`, file);
      assert.deepEqual(stackFileSchemaErrors(readYaml(file)), [], file);
    }
  });

  it("the JSON Schema accepts Pulumi's own keys and secure values, and rejects what the program rejects", () => {
    const file = {
      secretsprovider: "passphrase",
      encryptionsalt: "v1:abc",
      environment: ["home-ops/base"],
      config: {
        ...stackFileOf(HOME_OPS_RAW_CONFIG).config,
        "homeops:onepasswordServiceAccountToken": { secure: "v1:x" },
      },
    };
    assert.deepEqual(stackFileSchemaErrors(file), []);
    assert.deepEqual(stackFileSchemaErrors({ ...file, config: { ...file.config, "kubernetes:context": "home" } }), []);
    const rejected = (config: Record<string, unknown>): boolean =>
      stackFileSchemaErrors({ ...file, config }).length > 0;
    assert.ok(rejected({ ...file.config, "homeops:clustr": {} }), "an unknown homeops: key");
    assert.ok(
      rejected({ ...file.config, "homeops:onepasswordServiceAccountToken": "ops_plaintext" }),
      "a plain-text secret",
    );
    const cluster = HOME_OPS_RAW_CONFIG.cluster as Record<string, unknown>;
    assert.ok(
      rejected({ ...file.config, "homeops:cluster": { ...cluster, vipp: "172.29.51.10" } }),
      "a typo in a section",
    );
    assert.ok(rejected({ ...file.config, "homeops:cluster": { ...cluster, vip: "172.29.051.10" } }), "a bad address");
    assert.ok(rejected({ ...file.config, "homeops:talos": { version: "v1.12.0" } }), "an unsupported Talos minor");
    const withoutNodes = Object.fromEntries(Object.entries(file.config).filter(([key]) => key !== "homeops:nodes"));
    assert.ok(rejected(withoutNodes), "a missing required key");
  });

  it("Pulumi.yaml's declarations accept the real stack and refuse what Pulumi refuses", () => {
    const declarations = projectConfigDeclarations();
    const config = stackFileOf(HOME_OPS_RAW_CONFIG).config;
    assert.equal(pulumiConfigRefusal(declarations, config), undefined);
    assert.equal(
      pulumiConfigRefusal(declarations, { ...config, "homeops:stopAfter": undefined }),
      undefined,
      "default",
    );
    assert.match(pulumiConfigRefusal(declarations, { ...config, "homeops:nodes": undefined }) ?? "", /missing/);
    assert.match(
      pulumiConfigRefusal(declarations, { ...config, "homeops:kubernetes": "v1.31.1" }) ?? "",
      /type 'object'/,
    );
    assert.ok(!Object.keys(declarations).some((key) => key.endsWith("onepasswordServiceAccountToken")));
  });
});

describe("config: layering", () => {
  it("config/ imports nothing of the layers above it (talos/, k8s/, plan/, components/)", () => {
    const configDir = path.join(REPO_ROOT, "config");
    for (const file of fs.readdirSync(configDir).filter((f) => f.endsWith(".ts"))) {
      const source = fs.readFileSync(path.join(configDir, file), "utf8");
      const imports = [...source.matchAll(/from "([^"]+)"/g)].map((match) => match[1]);
      const upward = imports
        .filter((specifier) => specifier.startsWith("."))
        .filter((specifier) => !specifier.startsWith("./"))
        // Data, not a layer: the version tables live next to renovate.json.
        .filter((specifier) => specifier !== "../compatibility.json" && specifier !== "../upgrades.json");
      assert.deepEqual(upward, [], `config/${file} imports from outside config/`);
    }
  });
});
