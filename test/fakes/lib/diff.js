"use strict";
/**
 * Unified line diff in the format Talos prints (pkg/machinery/config/configdiff/configdiff.go
 * outputDiff @ v1.10.5 over hexops/gotextdiff ToUnified): "--- a", "+++ b", hunks with three
 * lines of context and "@@ -from[,count] +to[,count] @@" headers where a count of one is left out.
 * The edit script here is an LCS, not Myers', so a hunk may pair lines differently from Talos's;
 * what it reports changed is the same.
 */

const CONTEXT = 3;

function splitLines(text) {
  if (!text) return [];
  const lines = text.split("\n").map((l) => l + "\n");
  if (text.endsWith("\n")) lines.pop();
  else lines[lines.length - 1] = lines[lines.length - 1].slice(0, -1);
  return lines;
}

/** Edit script [{op: " " | "-" | "+", line}] turning a into b. */
function editScript(a, b) {
  const n = a.length;
  const m = b.length;
  const lcs = Array.from({ length: n + 1 }, () => new Int32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--)
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  }
  const ops = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ op: " ", line: a[i++] });
      j++;
    } else if (i < n && (j === m || lcs[i + 1][j] >= lcs[i][j + 1])) ops.push({ op: "-", line: a[i++] });
    else ops.push({ op: "+", line: b[j++] });
  }
  return ops;
}

/** The unified diff of two texts, "" when they are equal. */
function unifiedDiff(oldText, newText) {
  const ops = editScript(splitLines(oldText), splitLines(newText));
  const changed = ops.map((o, k) => (o.op === " " ? -1 : k)).filter((k) => k >= 0);
  if (!changed.length) return "";
  const ranges = [];
  for (const k of changed) {
    const lo = Math.max(0, k - CONTEXT);
    const hi = Math.min(ops.length - 1, k + CONTEXT);
    const last = ranges[ranges.length - 1];
    if (last && lo <= last.hi + 1) last.hi = Math.max(last.hi, hi);
    else ranges.push({ lo, hi });
  }
  let out = "--- a\n+++ b\n";
  for (const { lo, hi } of ranges) {
    let fromLine = 1;
    let toLine = 1;
    for (let k = 0; k < lo; k++) {
      if (ops[k].op !== "+") fromLine++;
      if (ops[k].op !== "-") toLine++;
    }
    const body = ops.slice(lo, hi + 1);
    const from = body.filter((o) => o.op !== "+").length;
    const to = body.filter((o) => o.op !== "-").length;
    out += `@@ -${from > 1 ? `${fromLine},${from}` : fromLine} +${to > 1 ? `${toLine},${to}` : toLine} @@\n`;
    for (const o of body) out += o.op + o.line + (o.line.endsWith("\n") ? "" : "\n\\ No newline at end of file\n");
  }
  return out;
}

module.exports = { unifiedDiff };
