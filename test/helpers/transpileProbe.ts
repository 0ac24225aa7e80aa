/**
 * A TypeScript module whose output tells transpilers apart where they can differ: strict mode,
 * ES2022 class fields over a parent's, a default import of a CommonJS module, a namespace import.
 * Used to check that what runs the program (program.js's bundle, the e2e tier's loader) behaves
 * as TypeScript's own transpile with the project's tsconfig.json.
 */
export const PROBE = `import * as path from "path";
import def from "./dep";
class Parent {
  constructor() {
    (this as any).field = "set by the parent";
  }
}
class Child extends Parent {
  field?: string;
}
function whoIsThis(this: unknown) {
  return this === undefined ? "undefined" : typeof this;
}
export const report = {
  strictThis: whoIsThis.call(undefined),
  field: String(new Child().field),
  defaultImport: String(def),
  namespace: typeof path.join,
};
console.log(JSON.stringify(report));
`;
/** ./dep, the CommonJS module PROBE imports by default. */
export const DEP = `module.exports = { __esModule: false, value: 42 }; module.exports.toString = () => "cjs default";\n`;
