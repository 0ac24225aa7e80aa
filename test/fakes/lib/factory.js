"use strict";
/**
 * Image Factory's schematic IDs, modelled independently of the program (talos/schematic.ts): the
 * factory parses the posted YAML with known fields only (siderolabs/image-factory
 * pkg/schematic/schematic.go Unmarshal), re-marshals it (Marshal: yaml.Marshal of the Schematic
 * struct: fields in struct order, omitempty, 4-space indentation, block sequences indented under
 * their key) and the ID is the SHA-256 of that canonical text (ID), not of the body posted.
 * POST /schematics answers 201 {"id", "schematic"} (internal/frontend/http/configuration.go
 * handleSchematicCreate).
 */
const crypto = require("crypto");
const YAML = require("yaml");

class SchematicError extends Error {}

/** Known fields of each struct, in struct (= marshal) order; `omit` = omitempty. */
const SCHEMA = {
  Schematic: [
    ["owner", "string", true],
    ["overlay", "Overlay", true],
    ["customization", "Customization", false],
  ],
  Overlay: [
    ["image", "string", false],
    ["name", "string", false],
    ["options", "map", true],
  ],
  Customization: [
    ["embeddedMachineConfiguration", "string", true],
    ["extraKernelArgs", "[]string", true],
    ["meta", "[]MetaValue", true],
    ["systemExtensions", "SystemExtensions", true],
    ["bootloader", "string", true],
    ["secureboot", "SecureBootCustomization", true],
    ["diskImage", "DiskImageCustomization", true],
  ],
  MetaValue: [
    ["key", "uint8", false],
    ["value", "string", false],
  ],
  SystemExtensions: [["officialExtensions", "[]string", true]],
  SecureBootCustomization: [
    ["enrollKeys", "string", true],
    ["includeWellKnownCertificates", "bool", true],
  ],
  DiskImageCustomization: [["sectorSize", "uint", true]],
};

const isMap = (v) => v != null && typeof v === "object" && !Array.isArray(v);

/** Decode `value` as `type` with known fields only (yaml.v4 Decoder.KnownFields(true)). */
function decode(value, type, where) {
  if (type === "string") return value == null ? "" : String(value);
  if (type === "bool") return value === true;
  if (type === "uint" || type === "uint8") return value == null ? 0 : Number(value);
  if (type === "map") return isMap(value) ? value : {};
  if (type.startsWith("[]")) return (Array.isArray(value) ? value : []).map((v) => decode(v, type.slice(2), where));
  if (value == null) value = {};
  if (!isMap(value)) throw new SchematicError(`yaml: unmarshal errors:\n  cannot unmarshal into schematic.${type}`);
  const out = {};
  for (const k of Object.keys(value)) {
    if (!SCHEMA[type].some(([name]) => name === k))
      throw new SchematicError(`yaml: unmarshal errors:\n  field ${k} not found in type schematic.${type}`);
  }
  for (const [name, t] of SCHEMA[type]) out[name] = decode(value[name], t, where);
  return out;
}

const isZero = (v) =>
  v === "" ||
  v === 0 ||
  v === false ||
  v == null ||
  (Array.isArray(v) && !v.length) ||
  (isMap(v) && Object.values(v).every(isZero));

const RESOLVES =
  /^(|~|null|Null|NULL|true|True|TRUE|false|False|FALSE|y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF|[-+]?(\.\d+|\d+(\.\d*)?)([eE][-+]?\d+)?|0x[0-9a-fA-F]+|0o[0-7]+|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))$/;

/** A string scalar as yaml.v3 writes it: plain when it can, double-quoted when it would read as another type. */
function scalar(s) {
  if (typeof s !== "string") return String(s);
  if (RESOLVES.test(s)) return JSON.stringify(s);
  if (/^[^\s\-?:,[\]{}#&*!|>'"%@`][^\n]*$/.test(s) && !/: |\s#|\s$|:$/.test(s)) return s;
  return `'${s.replace(/'/g, "''")}'`;
}

/** Emit a struct of `type` at `indent` (only what omitempty keeps). */
function emit(value, type, indent) {
  const pad = " ".repeat(indent);
  let out = "";
  const fields =
    type === "map"
      ? Object.keys(value)
          .sort()
          .map((k) => [k, typeof value[k] === "object" ? "map" : "string", false])
      : SCHEMA[type];
  for (const [name, t, omit] of fields) {
    const v = value[name];
    if (omit && isZero(v)) continue;
    if (t.startsWith("[]")) {
      out += `${pad}${name}:\n`;
      for (const item of v) {
        if (t === "[]string") out += `${pad}    - ${scalar(item)}\n`;
        else out += `${pad}    - ${emit(item, t.slice(2), indent + 6).slice(indent + 6)}`;
      }
    } else if (SCHEMA[t] || t === "map") {
      out += isZero(v) ? `${pad}${name}: {}\n` : `${pad}${name}:\n${emit(v, t, indent + 4)}`;
    } else out += `${pad}${name}: ${scalar(v)}\n`;
  }
  return out;
}

/** The canonical text and ID of a posted schematic body; SchematicError when the factory rejects it. */
function canonicalSchematic(body) {
  let doc;
  try {
    doc = YAML.parse(body);
  } catch (e) {
    throw new SchematicError(`yaml: ${e.message.split("\n")[0]}`);
  }
  const schematic = decode(doc, "Schematic");
  if (schematic.owner) throw new SchematicError("owner field is only supported in Enterprise edition");
  const text = emit(schematic, "Schematic", 0);
  return { text, id: crypto.createHash("sha256").update(text, "utf8").digest("hex") };
}

module.exports = { canonicalSchematic, SchematicError };
