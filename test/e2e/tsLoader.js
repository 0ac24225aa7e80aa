"use strict";
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS: it must load before any TypeScript can */
/**
 * How the e2e tier's language host (host.ts) and the 1Password stand-in provider load TypeScript:
 * `node --require test/e2e/tsLoader.js <file.ts>`. Each `.ts` module is transformed to CommonJS by
 * esbuild (the transform tsx runs), with the project's tsconfig.json compiler options (the ones
 * `pulumi up`'s ts-node uses: strict mode, ES2022 class fields, esModuleInterop), and the output is
 * cached by content in the temporary directory. JavaScript modules load as Node loads them.
 *
 * Why not tsx, as before: tsx hooks every module load, JavaScript too, and each engine run starts a
 * language host that loads @pulumi/pulumi and the provider SDKs (about 770 modules): under tsx that
 * start took 3.2 CPU-s on the 2-core machine, with this loader 1.9 (loading index.ts, 2026-12-07).
 * Source maps stay on, as under tsx and ts-node: stack traces name the .ts lines.
 */
const crypto = require("crypto");
const fs = require("fs");
const Module = require("module");
const os = require("os");
const path = require("path");
const esbuild = require("esbuild");

const repo = path.resolve(__dirname, "../..");
const compilerOptions = JSON.parse(fs.readFileSync(path.join(repo, "tsconfig.json"), "utf8")).compilerOptions;
const OPTIONS = {
  loader: "ts",
  format: "cjs",
  target: "node20",
  sourcemap: "inline",
  tsconfigRaw: { compilerOptions },
};
const uid = typeof process.getuid === "function" ? process.getuid() : "user";
const cacheDir = path.join(os.tmpdir(), `homeops-ts-${uid}`);
const salt = crypto.createHash("sha256").update(esbuild.version).update(JSON.stringify(OPTIONS)).digest("hex");

function transformed(filename) {
  const source = fs.readFileSync(filename, "utf8");
  const key = crypto.createHash("sha256").update(salt).update(filename).update("\0").update(source).digest("hex");
  const cached = path.join(cacheDir, `${key}.js`);
  try {
    return fs.readFileSync(cached, "utf8");
  } catch {
    const code = esbuild.transformSync(source, { ...OPTIONS, sourcefile: filename }).code;
    fs.mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
    const tmp = `${cached}.${process.pid}`;
    fs.writeFileSync(tmp, code);
    fs.renameSync(tmp, cached); // atomic: a concurrent loader reads it whole or not at all
    return code;
  }
}

Module._extensions[".ts"] = function loadTypeScript(module, filename) {
  module._compile(transformed(filename), filename);
};
process.setSourceMapsEnabled(true);
