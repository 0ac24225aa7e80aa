"use strict";
/**
 * talosctl commands that contact no node: gen secrets, gen config, validate, config endpoint /
 * node, version --client. Messages follow the real talosctl v1.10.5 (checked against the binary
 * built by test/e2e/tools/build.sh).
 */
const fs = require("fs");
const os = require("os");
const path = require("path");
const { Fail } = require("../runtime");
const { wallNow } = require("../store");
const cfgs = require("./config");
const gen = require("./gen");

/** Typed access to parsed flags ({long: [values]}). */
function options(parsed) {
  const f = parsed.flags;
  const last = (name) => (f[name] ? f[name][f[name].length - 1] : undefined);
  return {
    all: (name) => f[name] || [],
    get: last,
    bool: (name, dflt) => (f[name] ? ["true", "1", "t", "T", "TRUE", "True"].includes(last(name)) : !!dflt),
    has: (name) => !!f[name],
  };
}

const enoent = (file, e) => (e.code === "ENOENT" ? `open ${file}: no such file or directory` : e.message);

function readFileOr(file, prefix) {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new Fail(`${prefix}${enoent(file, e)}`);
  }
}

/** Write generated content like talosctl: "-" is stdout; an existing file needs --force. */
function writeOut(ctx, file, content, force) {
  if (file === "-") return ctx.out(content);
  if (fs.existsSync(file) && !force)
    throw new Fail(`file ${JSON.stringify(file)} already exists, use --force to overwrite`);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, content, { mode: 0o600 });
}

function genSecrets(ctx, o) {
  checkTalosVersion(o.get("talos-version"));
  writeOut(ctx, o.get("output-file") || "secrets.yaml", gen.renderSecretsBundle(ctx.cfg.mintCanary), o.bool("force"));
}

/** Only the syntax of --talos-version is checked: a newer contract than the client's is accepted. */
function checkTalosVersion(tv) {
  if (tv != null && !/^v?\d+\.\d+(\.\d+)?$/.test(tv))
    throw new Fail(`invalid talos-version: error parsing version "v${tv.replace(/^v/, "")}"`);
}

function loadBundle(file) {
  const text = readFileOr(file, "failed to load secrets bundle: ");
  try {
    return cfgs.parseSecretsBundle(text);
  } catch (e) {
    throw new Fail(`failed to load secrets bundle: ${e.message}`);
  }
}

function genConfig(ctx, o, [name, endpoint]) {
  if (!/^https?:\/\//.test(endpoint)) {
    throw new Fail(`no scheme and port specified for the cluster endpoint URL\ntry: "https://${endpoint}:6443"`);
  }
  checkTalosVersion(o.get("talos-version"));
  const file = o.get("with-secrets");
  const bundle = file ? loadBundle(file) : cfgs.parseSecretsBundle(gen.renderSecretsBundle(ctx.cfg.mintCanary));
  const types = o.has("output-types") ? o.all("output-types") : ["controlplane", "worker", "talosconfig"];
  for (const t of types)
    if (!["controlplane", "worker", "talosconfig"].includes(t))
      throw new Fail(`invalid output type: ${JSON.stringify(t)}`);
  const out = o.get("output");
  if (out === "-" && types.length > 1) throw new Fail("can't use multiple output types with stdout");
  ctx.err("generating PKI and tokens\n");
  const files = types.map((t) => {
    if (t === "talosconfig")
      return { name: "talosconfig", content: gen.renderTalosconfig(bundle, name, { now: wallNow(ctx.cfg) }) };
    const patches = o
      .all("config-patch")
      .concat(o.all(t === "controlplane" ? "config-patch-control-plane" : "config-patch-worker"));
    const contents = patches.map((p) => (p.startsWith("@") ? readFileOr(p.slice(1), "") : p));
    let content;
    try {
      content = gen.renderMachineConfig(bundle, {
        type: t,
        name,
        endpoint,
        kubernetesVersion: (o.get("kubernetes-version") || "1.33.2").replace(/^v/, ""),
        installDisk: o.get("install-disk") || "/dev/sda",
        installImage: o.get("install-image") || defaultInstallImage(),
        dnsDomain: o.get("dns-domain") || "cluster.local",
        sans: o.all("additional-sans"),
        patches: contents,
      });
    } catch (e) {
      if (e instanceof cfgs.ConfigError) throw new Fail(e.message);
      throw e;
    }
    return { name: `${t}.yaml`, content };
  });
  const force = o.bool("force");
  const target = (f) => (types.length === 1 && out ? out : path.join(out || ".", f.name));
  for (const f of files)
    if (target(f) !== "-" && fs.existsSync(target(f)) && !force) writeOut(ctx, target(f), "", false);
  for (const f of files) {
    writeOut(ctx, target(f), f.content, true);
    if (target(f) !== "-") ctx.err(`Created ${target(f)}\n`);
  }
}

/**
 * gen config's --install-image default: ghcr.io/siderolabs/installer:<client version> up to 1.13;
 * from 1.14 factory.talos.dev/metal-installer/<empty schematic>:<version> (pkg/images/images.go
 * NewInstallerImageRepository @ v1.14.1; CHANGELOG 1.14.0 "Default Installer Image").
 */
function defaultInstallImage() {
  const c = require("./client").client();
  return c.minor >= 14
    ? `factory.talos.dev/metal-installer/${require("./images").EMPTY_SCHEMATIC}:${c.version}`
    : `ghcr.io/siderolabs/installer:${c.version}`;
}

function talosconfigPath(o) {
  const candidates = o.get("talosconfig")
    ? [o.get("talosconfig")]
    : [
        process.env.TALOSCONFIG,
        path.join(process.env.HOME || os.homedir(), ".talos", "config"),
        "/var/run/secrets/talos.dev/config",
      ].filter(Boolean);
  return candidates.find((c) => fs.existsSync(c)) || candidates[0];
}

/** The talosconfig of this call (clientconfig.Open), or the error talosctl prints. */
function loadTalosconfig(o) {
  const file = talosconfigPath(o);
  const text = readFileOr(file, `failed to open config file ${JSON.stringify(file)}: `);
  try {
    return { file, tc: cfgs.parseTalosconfig(text) };
  } catch (e) {
    throw new Fail(`failed to open config file ${JSON.stringify(file)}: ${e.message}`);
  }
}

/** config endpoint / config node: rewrite the current context's list (silent on success). */
function configList(key) {
  return (ctx, o, values) => {
    const { file, tc } = loadTalosconfig(o);
    if (!tc.ctx) throw new Fail("no context is set");
    tc.ctx[key] = values;
    fs.writeFileSync(file, gen.yaml(tc.doc), { mode: 0o600 });
  };
}

/** validate --config F --mode M (the checks of config.validationProblems). */
function validate(ctx, o) {
  const file = o.get("config");
  const mode = o.get("mode");
  if (!file || !mode)
    throw new Fail(`required flag(s) ${[!file && '"config"', !mode && '"mode"'].filter(Boolean).join(", ")} not set`);
  const text = readFileOr(file, "");
  let mc;
  try {
    mc = cfgs.parseMachineConfig(text);
  } catch (e) {
    throw new Fail(`failed to load config: ${e.message}`);
  }
  const problems = cfgs.validationProblems(mc.v1alpha1, mode);
  if (!["controlplane", "worker", "init"].includes(mc.type))
    ctx.err(`WARNING: use "worker" instead of "${mc.type || ""}" for machine type\n`);
  if (problems.length) throw new Fail(cfgs.multiError(problems));
  ctx.out(`${file} is valid for ${mode} mode\n`);
}

/** The client part of `version` (cmd/talosctl/cmd/talos/version.go): this talosctl's own version. */
function clientVersion(ctx, o) {
  const v = require("./client").client().version;
  ctx.out("Client:\n");
  if (o.bool("short")) ctx.out(`Talos ${v}\n`);
  else
    ctx.out(
      `\tTag:         ${v}\n\tSHA:         fake0000\n\tBuilt:       \n\tGo version:  go1.24 (fake)\n\tOS/Arch:     linux/amd64\n`,
    );
}

module.exports = {
  options,
  readFileOr,
  writeOut,
  loadTalosconfig,
  clientVersion,
  handlers: {
    "gen secrets": genSecrets,
    "gen config": genConfig,
    "config endpoint": configList("endpoints"),
    "config node": configList("nodes"),
    validate,
  },
};
