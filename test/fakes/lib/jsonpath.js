"use strict";
/**
 * A small subset of kubectl's JSONPath templates: text, {.a.b}, {['x']}, {[n]}, {[*]},
 * {.items[?(@.type=="Ready")].x} (== / != / existence), {range <path>}...{end}, {"literal"}.
 * Missing keys yield nothing (kubectl's allowMissingKeys default for `get -o jsonpath`).
 */

function parseTemplate(tpl) {
  const tokens = [];
  let i = 0;
  while (i < tpl.length) {
    const open = tpl.indexOf("{", i);
    if (open < 0) {
      tokens.push({ t: "text", v: tpl.slice(i) });
      break;
    }
    if (open > i) tokens.push({ t: "text", v: tpl.slice(i, open) });
    // find the matching close brace, ignoring braces inside quotes
    let j = open + 1;
    let quote = null;
    for (; j < tpl.length; j++) {
      const c = tpl[j];
      if (quote) {
        if (c === "\\") j++;
        else if (c === quote) quote = null;
      } else if (c === '"' || c === "'") quote = c;
      else if (c === "}") break;
    }
    if (j >= tpl.length) throw new Error(`unclosed action in template ${JSON.stringify(tpl)}`);
    const inner = tpl.slice(open + 1, j).trim();
    if (inner === "end") tokens.push({ t: "end" });
    else if (inner.startsWith("range ")) tokens.push({ t: "range", v: parsePath(inner.slice(6).trim()) });
    else if (/^"(.*)"$/s.test(inner)) tokens.push({ t: "text", v: JSON.parse(inner) });
    else if (/^'(.*)'$/s.test(inner)) tokens.push({ t: "text", v: inner.slice(1, -1) });
    else tokens.push({ t: "path", v: parsePath(inner) });
    i = j + 1;
  }
  return tokens;
}

function parsePath(expr) {
  const segs = [];
  let i = 0;
  let root = "current";
  if (expr[0] === "$") {
    root = "root";
    i = 1;
  } else if (expr[0] === "@") i = 1;
  while (i < expr.length) {
    const c = expr[i];
    if (c === ".") {
      if (expr[i + 1] === ".") throw new Error(`recursive descent is not supported by the fake: ${expr}`);
      i++;
      if (expr[i] === "*") {
        segs.push({ s: "all" });
        i++;
        continue;
      }
      // A field name ends at an unescaped "." or "["; "\\." is a literal dot (client-go
      // util/jsonpath parser.go parseField: `{.metadata.annotations.talos\.dev/config-version}`).
      let j = i;
      while (j < expr.length && expr[j] !== "." && expr[j] !== "[")
        j += expr[j] === "\\" && expr[j + 1] === "." ? 2 : 1;
      const name = expr.slice(i, j).replace(/\\\./g, ".");
      if (name) segs.push({ s: "field", v: name });
      i = j;
    } else if (c === "[") {
      const close = findBracketClose(expr, i);
      const inner = expr.slice(i + 1, close).trim();
      if (inner === "*") segs.push({ s: "all" });
      else if (/^-?\d+$/.test(inner)) segs.push({ s: "index", v: parseInt(inner, 10) });
      else if (/^'.*'$|^".*"$/.test(inner)) segs.push({ s: "field", v: inner.slice(1, -1) });
      else if (inner.startsWith("?(") && inner.endsWith(")"))
        segs.push({ s: "filter", v: parseFilter(inner.slice(2, -1).trim()) });
      else throw new Error(`unsupported JSONPath subscript [${inner}]`);
      i = close + 1;
    } else {
      // bare leading name, e.g. {metadata.name}
      let j = i;
      while (j < expr.length && expr[j] !== "." && expr[j] !== "[") j++;
      segs.push({ s: "field", v: expr.slice(i, j) });
      i = j;
    }
  }
  return { root, segs };
}

function findBracketClose(expr, open) {
  let quote = null;
  let depth = 0;
  for (let j = open; j < expr.length; j++) {
    const c = expr[j];
    if (quote) {
      if (c === "\\") j++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "[" || c === "(") depth++;
    else if (c === "]" || c === ")") {
      depth--;
      if (depth === 0 && c === "]") return j;
    }
  }
  throw new Error(`unclosed [ in ${expr}`);
}

function parseFilter(f) {
  const m = /^(@[^=!<>]*?)\s*(==|!=)\s*(.+)$/.exec(f);
  if (!m) return { path: parsePath(f), op: "exists" };
  let lit = m[3].trim();
  let value;
  if (/^".*"$|^'.*'$/.test(lit)) value = lit.slice(1, -1);
  else if (lit === "true" || lit === "false") value = lit === "true";
  else if (!Number.isNaN(Number(lit))) value = Number(lit);
  else value = lit;
  return { path: parsePath(m[1].trim()), op: m[2], value };
}

function evalPath(p, current, root, strict) {
  let vals = [p.root === "root" ? root : current];
  for (const seg of p.segs) {
    const next = [];
    if (
      strict &&
      seg.s === "field" &&
      vals.length &&
      !vals.some((v) => v && typeof v === "object" && !Array.isArray(v) && seg.v in v)
    ) {
      // client-go util/jsonpath evalField without AllowMissingKeys
      throw new Error(`${seg.v} is not found`);
    }
    for (const v of vals) {
      if (v == null) continue;
      if (seg.s === "field") {
        if (typeof v === "object" && !Array.isArray(v) && Object.prototype.hasOwnProperty.call(v, seg.v))
          next.push(v[seg.v]);
      } else if (seg.s === "index") {
        if (Array.isArray(v)) {
          const idx = seg.v < 0 ? v.length + seg.v : seg.v;
          if (idx >= 0 && idx < v.length) next.push(v[idx]);
        }
      } else if (seg.s === "all") {
        if (Array.isArray(v)) next.push(...v);
        else if (typeof v === "object") next.push(...Object.values(v));
      } else if (seg.s === "filter") {
        const items = Array.isArray(v) ? v : [v];
        for (const it of items) {
          const got = evalPath(seg.v.path, it, root);
          if (seg.v.op === "exists") {
            if (got.length && got[0] !== false && got[0] != null) next.push(it);
          } else {
            const eq = got.length > 0 && got[0] === seg.v.value;
            if ((seg.v.op === "==") === eq) next.push(it);
          }
        }
      }
    }
    vals = next;
  }
  return vals;
}

function format(v) {
  if (typeof v === "string") return v;
  if (typeof v === "object" && v !== null) return JSON.stringify(v);
  return String(v);
}

function render(tokens, current, root) {
  let out = "";
  let i = 0;
  while (i < tokens.length) {
    const tok = tokens[i];
    if (tok.t === "text") out += tok.v;
    else if (tok.t === "path") out += evalPath(tok.v, current, root).map(format).join(" ");
    else if (tok.t === "range") {
      // find matching end
      let depth = 1;
      let j = i + 1;
      for (; j < tokens.length; j++) {
        if (tokens[j].t === "range") depth++;
        else if (tokens[j].t === "end" && --depth === 0) break;
      }
      if (j >= tokens.length) throw new Error("{range} without {end}");
      const body = tokens.slice(i + 1, j);
      for (const item of evalPath(tok.v, current, root)) {
        const items = Array.isArray(item) ? item : [item];
        for (const it of items) out += render(body, it, root);
      }
      i = j;
    } else if (tok.t === "end") throw new Error("{end} without {range}");
    i++;
  }
  return out;
}

/**
 * client-go's JSONPath.FindResults (util/jsonpath/jsonpath.go @ v0.33.2), which talosctl prints
 * (cmd/talosctl/cmd/talos/output/jsonpath.go WriteResource @ v1.10.5): one group per template
 * node, text nodes included, ranges expanded; a missing key is an error. Returns [[values]].
 */
function findResults(template, obj) {
  const walk = (tokens, current) => {
    const groups = [];
    for (let i = 0; i < tokens.length; i++) {
      const tok = tokens[i];
      if (tok.t === "text") groups.push([tok.v]);
      else if (tok.t === "path") groups.push(evalPath(tok.v, current, obj, true));
      else if (tok.t === "range") {
        let depth = 1;
        let j = i + 1;
        for (; j < tokens.length && depth; j++) depth += tokens[j].t === "range" ? 1 : tokens[j].t === "end" ? -1 : 0;
        for (const item of evalPath(tok.v, current, obj, true)) groups.push(...walk(tokens.slice(i + 1, j - 1), item));
        i = j - 1;
      }
    }
    return groups;
  };
  return walk(parseTemplate(template), obj);
}

/** Render a kubectl JSONPath template against an object. Throws on templates it cannot parse. */
function jsonpath(template, obj) {
  return render(parseTemplate(template), obj, obj);
}

module.exports = { jsonpath, findResults, parseTemplate, evalPath, parsePath };
