"use strict";
// FAKE 1Password CLI (test fixture): item get / item create / read / vault list / vault get /
// --version over items kept in $FAKE_STATE_DIR/state.json (state.op.items[vault][title]).
// `vault list`, `vault get`, `--version`, `item get --vault <vault id>` and JSON through OP_FORMAT
// are what the 1Password Pulumi provider's CLI client runs (terraform-provider-onepassword
// onepassword/cli/op.go: checkCliVersion `op --version` >= 2.23.0, GetVaultsByTitle `op vault list`,
// GetItem `op item get <title> --vault <vault uuid>`, every call with OP_FORMAT=json in its env).
const fs = require("fs");
const { run, Fail, UsageFail } = require("../runtime");
const state = require("../state");

const FLAGS = {
  vault: true,
  fields: true,
  reveal: false,
  format: true,
  template: true,
  title: true,
  category: true,
  account: true,
  "no-newline": false,
  version: false,
};

/** The op version this fake answers `op --version` with (>= the provider's minimum 2.23.0). */
const OP_VERSION = "2.30.3";

function parse(argv) {
  const flags = {};
  const args = [];
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i];
    if (!tok.startsWith("--")) {
      if (tok.length > 1 && tok[0] === "-") {
        if (tok === "-n") {
          flags["no-newline"] = "true";
          continue;
        }
        throw new UsageFail(`[ERROR] unknown shorthand flag: '${tok[1]}' in ${tok}`);
      }
      args.push(tok);
      continue;
    }
    const eq = tok.indexOf("=");
    const name = eq < 0 ? tok.slice(2) : tok.slice(2, eq);
    if (!(name in FLAGS)) throw new UsageFail(`[ERROR] unknown flag: --${name}`);
    let value = eq < 0 ? undefined : tok.slice(eq + 1);
    if (FLAGS[name] && value === undefined) {
      if (i + 1 >= argv.length) throw new UsageFail(`[ERROR] flag needs an argument: --${name}`);
      value = argv[++i];
    }
    flags[name] = value === undefined ? "true" : value;
  }
  return { flags, args };
}

const stamp = () =>
  new Date()
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "")
    .replace(/-/g, "/");
const opErr = (msg) => new Fail(`[ERROR] ${stamp()} ${msg}`);

/** A vault's stable ID (26 lowercase alphanumerics, like 1Password's) derived from its name. */
function vaultId(name) {
  return require("crypto")
    .createHash("sha256")
    .update(`vault:${name}`)
    .digest("hex")
    .replace(/[^a-z0-9]/g, "")
    .slice(0, 26);
}

/** A vault given by name or ID, as op accepts either; the name. */
function vaultName(s, given) {
  if (s.op.items[given]) return given;
  return Object.keys(s.op.items).find((name) => vaultId(name) === given) || given;
}

const jsonOut = (flags) => flags.format === "json" || process.env.OP_FORMAT === "json";

function findItem(s, vault, title) {
  vault = vaultName(s, vault);
  const v = s.op.items[vault];
  const item = v && (v[title] || Object.values(v).find((i) => i.id === title));
  if (!item)
    throw opErr(`"${title}" isn't an item in the "${vault}" vault. Specify the item with its UUID, name, or domain.`);
  return item;
}

function csvQuote(v) {
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

function itemGet(ctx, flags, args) {
  if (args.length !== 1) throw opErr("expected exactly one item name, ID or link");
  if (!flags.vault) throw opErr("a vault is required for service accounts (--vault)");
  const s = state.loadState(ctx.dir);
  const item = findItem(s, flags.vault, args[0]);
  if (!flags.fields) {
    // JSON carries every field's value: the provider reads items without --reveal (op.go GetItem).
    if (jsonOut(flags)) ctx.out(JSON.stringify(publicItem(item, vaultName(s, flags.vault), true), null, 2) + "\n");
    else
      ctx.out(
        `ID:          ${item.id}\nTitle:       ${item.title}\nVault:       ${flags.vault}\nCategory:    ${item.category}\n`,
      );
    return;
  }
  const wanted = flags.fields
    .split(",")
    .map((f) => f.trim())
    .filter(Boolean);
  const values = wanted.map((w) => {
    const label = w.startsWith("label=") ? w.slice(6) : w;
    const field = item.fields.find((f) => f.label === label);
    if (!field) throw opErr(`"${label}" isn't a field in the "${item.title}" item`);
    if (field.type === "CONCEALED" && flags.reveal !== "true")
      return `[use 'op item get ${item.id} --reveal' to reveal]`;
    return field.value;
  });
  if (flags.format === "json") {
    ctx.out(JSON.stringify(values.length === 1 ? { label: wanted[0], value: values[0] } : values, null, 2) + "\n");
    return;
  }
  // Real op may CSV-quote values with special characters; opt-in so tests can probe for it.
  const quote = ctx.cfg.opFieldsCsvQuoting ? csvQuote : (v) => v;
  ctx.out(values.map(quote).join(",") + "\n");
}

function publicItem(item, vault, reveal) {
  const sections = [];
  for (const f of item.fields) if (f.section && !sections.some((x) => x.id === f.section.id)) sections.push(f.section);
  return {
    id: item.id,
    title: item.title,
    category: item.category,
    vault: { id: vaultId(vault), name: vault },
    ...(sections.length ? { sections } : {}),
    fields: item.fields.map((f, i) => ({
      id: f.id || `field${i}`,
      label: f.label,
      type: f.type,
      ...(f.purpose ? { purpose: f.purpose } : {}),
      ...(f.section ? { section: f.section } : {}),
      value: f.type === "CONCEALED" && !reveal ? undefined : f.value,
    })),
  };
}

function vaults(ctx, verb, args) {
  const s = state.loadState(ctx.dir);
  const all = Object.keys(s.op.items).map((name) => ({ id: vaultId(name), name, content_version: 1 }));
  if (verb === "list") return ctx.out(JSON.stringify(all, null, 2) + "\n");
  if (verb === "get" && args.length === 1) {
    const v = all.find((x) => x.id === args[0] || x.name === args[0]);
    if (!v) throw opErr(`"${args[0]}" isn't a vault in this account. Specify the vault with its ID or name.`);
    return ctx.out(JSON.stringify({ ...v, description: "" }, null, 2) + "\n");
  }
  throw new Fail(`fake op: not simulated: vault ${[verb, ...args].join(" ")}`, 3);
}

function itemCreate(ctx, flags, args) {
  if (!flags.vault) throw opErr("a vault is required for service accounts (--vault)");
  if (args.length)
    throw new Fail(
      `fake op: item create with assignment arguments (${args.join(" ")}) is not simulated; use --template`,
    );
  if (!flags.template) throw new Fail("fake op: item create without --template is not simulated");
  let tpl;
  try {
    tpl = JSON.parse(fs.readFileSync(flags.template, "utf8"));
  } catch (e) {
    throw opErr(
      `couldn't read the template ${flags.template}: ${e.code === "ENOENT" ? "no such file or directory" : e.message}`,
    );
  }
  const title = flags.title || tpl.title;
  if (!title) throw opErr("an item title is required");
  if (!Array.isArray(tpl.fields)) throw opErr("invalid template: fields must be an array");
  const created = state.updateState(ctx.dir, (s) => {
    s.op.items[flags.vault] = s.op.items[flags.vault] || {};
    if (s.op.items[flags.vault][title])
      throw opErr(
        `an item titled "${title}" already exists in the "${flags.vault}" vault (fake op refuses duplicates)`,
      );
    const item = state.normalizeOpItem({ title, category: flags.category || tpl.category, fields: tpl.fields });
    s.op.items[flags.vault][title] = item;
    return item;
  });
  if (flags.format === "json") ctx.out(JSON.stringify(publicItem(created, flags.vault, false), null, 2) + "\n");
  else ctx.out(`ID:          ${created.id}\nTitle:       ${created.title}\nVault:       ${flags.vault}\n`);
}

function read(ctx, flags, args) {
  const m = args.length === 1 && /^op:\/\/([^/]+)\/([^/]+)\/(?:[^/]+\/)?([^/?]+)$/.exec(args[0]);
  if (!m) throw opErr(`invalid secret reference ${JSON.stringify(args[0] || "")}`);
  const [vault, title, label] = m.slice(1).map(decodeURIComponent);
  const item = findItem(state.loadState(ctx.dir), vault, title);
  const field = item.fields.find((f) => f.label === label);
  if (!field) throw opErr(`could not read secret ${args[0]}: "${label}" isn't a field in the "${title}" item`);
  ctx.out(field.value + (flags["no-newline"] === "true" ? "" : "\n"));
}

run("op", (ctx) => {
  const { flags, args } = parse(ctx.argv);
  const [noun, verb] = args;
  const command = noun === "item" || noun === "vault" ? `${noun} ${verb || ""}`.trim() : noun || "";
  ctx.setCall({ command, flags, args: args.slice(noun === "item" || noun === "vault" ? 2 : 1) });
  // `op --version` needs no sign-in.
  if (flags.version === "true" && !noun) return ctx.out(`${OP_VERSION}\n`);
  if (!process.env.OP_SERVICE_ACCOUNT_TOKEN && !process.env.OP_ACCOUNT && !flags.account) {
    throw opErr(
      "You are not currently signed in. Please run `op signin --help` for instructions (fake op: set OP_SERVICE_ACCOUNT_TOKEN)",
    );
  }
  ctx.applyFaults({
    unreachable: () =>
      `[ERROR] ${stamp()} Post "https://my.1password.com/api/v2/auth": dial tcp: connect: connection refused`,
    timeout: `[ERROR] ${stamp()} context deadline exceeded`,
    drop: `[ERROR] ${stamp()} Post "https://my.1password.com/api/v3/vault/items": EOF`,
  });
  if (command === "item get") return itemGet(ctx, flags, args.slice(2));
  if (command === "item create") return itemCreate(ctx, flags, args.slice(2));
  if (command === "read") return read(ctx, flags, args.slice(1));
  if (noun === "vault") return vaults(ctx, verb, args.slice(2));
  if (command === "whoami") return ctx.out("User Type:   SERVICE_ACCOUNT (fake)\n");
  if (
    [
      "item",
      "read",
      "whoami",
      "vault",
      "document",
      "account",
      "signin",
      "user",
      "group",
      "connect",
      "inject",
      "run",
    ].includes(noun)
  )
    throw new Fail(`fake op: not simulated: ${args.join(" ")}`, 3);
  throw new UsageFail(`[ERROR] ${stamp()} unknown command "${noun || ""}" for "op"`);
});
