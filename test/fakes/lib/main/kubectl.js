"use strict";
// FAKE kubectl (test fixture): `get` and `wait` against the API server of the fake world
// (../world.js), `cordon`, `drain` and `delete node` (a node's removal), plus the storage
// Secrets of the Helm releases in it (label selectors included). Texts follow kubectl v0.33 (k8s.io/kubectl pkg/cmd/wait, pkg/cmd/util helpers.go;
// k8s.io/cli-runtime pkg/resource builder.go, printers/name.go). Anything else fails.
const fs = require("fs");
const YAML = require("yaml");
const { run, Fail, UsageFail, parseDuration } = require("../runtime");
const store = require("../store");
const nodes = require("../talos/nodes");
const { certIdentity } = require("../talos/config");
const world = require("../world");
const { jsonpath } = require("../jsonpath");

const GLOBAL = {
  kubeconfig: true,
  namespace: true,
  n: "namespace",
  context: true,
  "request-timeout": true,
  server: true,
  s: "server",
};
const VERB_FLAGS = {
  get: {
    output: true,
    o: "output",
    selector: true,
    l: "selector",
    "all-namespaces": false,
    A: "all-namespaces",
    raw: true,
  },
  wait: {
    for: true,
    timeout: true,
    all: false,
    selector: true,
    l: "selector",
    "all-namespaces": false,
    A: "all-namespaces",
  },
  cordon: {},
  drain: { "ignore-daemonsets": false, "delete-emptydir-data": false, timeout: true, force: false },
  delete: { "ignore-not-found": false, wait: false },
};
const usage = (verb, msg) => new UsageFail(`error: ${msg}\nSee 'kubectl ${verb ? verb + " " : ""}--help' for usage.`);

/** The first word that is neither a flag nor a global flag's value. */
function verbOf(argv) {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("-")) return a;
    const name = a.replace(/^--?/, "");
    if (!a.includes("=") && GLOBAL[name] && (a.startsWith("--") ? name.length > 1 : name.length === 1)) i++;
  }
  return undefined;
}

function parse(argv) {
  const verb = verbOf(argv);
  const defs = Object.assign({}, GLOBAL, VERB_FLAGS[verb] || {});
  const flags = {};
  const args = [];
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i];
    if (tok === "--") {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (tok.length < 2 || tok[0] !== "-") {
      args.push(tok);
      continue;
    }
    const long = tok.startsWith("--");
    const eq = tok.indexOf("=");
    let name = long ? tok.slice(2, eq < 0 ? undefined : eq) : tok[1];
    let value = long
      ? eq < 0
        ? undefined
        : tok.slice(eq + 1)
      : tok.length > 2
        ? tok.slice(2).replace(/^=/, "")
        : undefined;
    if (!(name in defs) || (!long && name.length !== 1) || (long && name.length === 1)) {
      throw usage(verb, long ? `unknown flag: --${name}` : `unknown shorthand flag: '${name}' in ${tok}`);
    }
    if (typeof defs[name] === "string") name = defs[name];
    if (defs[name]) {
      if (value === undefined) {
        if (i + 1 >= argv.length) throw usage(verb, `flag needs an argument: --${name}`);
        value = argv[++i];
      }
    } else if (value === undefined) value = "true";
    else if (!["true", "false"].includes(value))
      throw usage(
        verb,
        `invalid argument "${value}" for "--${name}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`,
      );
    flags[name] = value;
  }
  if (verb !== undefined) args.splice(args.indexOf(verb), 1);
  return { verb, flags, args };
}

/** The kubeconfig's current cluster: its CA identity and server. */
function loadKubeconfig(file) {
  let doc;
  try {
    doc = YAML.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Fail(
      e.code === "ENOENT"
        ? `error: stat ${file}: no such file or directory`
        : `error: error loading config file "${file}": ${e.message}`,
    );
  }
  const ctx = ((doc && doc.contexts) || []).find((c) => c.name === doc["current-context"]);
  const cluster = ctx && (doc.clusters || []).find((c) => c.name === ctx.context.cluster);
  if (!cluster) throw new Fail(`error: error loading config file "${file}": no current context`);
  return { identity: certIdentity(cluster.cluster["certificate-authority-data"]), server: cluster.cluster.server };
}

/** The kubeconfig's cluster, its server replaced by --server when given (client-go overrides). */
function kubeconfigOf(flags) {
  const kc = loadKubeconfig(flags.kubeconfig);
  return flags.server ? Object.assign(kc, { server: flags.server }) : kc;
}

const serverHost = (server) => (/^https?:\/\/([^/]+)/.exec(server) || [])[1] || server;
/**
 * How kubectl reports a failed connection (k8s.io/kubectl v0.33 pkg/cmd/util/helpers.go
 * StandardErrorMessage, for the *url.Error of client-go): "connection refused" gets its own
 * sentence naming host:port; anything else is "Unable to connect to the server: <cause>".
 */
const refusedBy = (server) =>
  `The connection to the server ${serverHost(server)} was refused - did you specify the right host or port?`;
const unableToConnect = (cause) => `Unable to connect to the server: ${cause}`;
const typeName = (ki) => (ki.group ? `${ki.kind.toLowerCase()}.${ki.group}` : ki.kind.toLowerCase());
const groupResource = (ki) => (ki.group ? `${world.plural(ki)}.${ki.group}` : world.plural(ki));
const notFound = (ki, name) => new Fail(`Error from server (NotFound): ${groupResource(ki)} "${name}" not found`);

/** The API server answering this kubeconfig now, or the error kubectl prints. */
function connect(ctx, kc) {
  const s = nodes.settle(store.loadState(ctx.dir), ctx.cfg, Date.now());
  const now = Date.now();
  const refused = refusedBy(kc.server);
  const cluster = world.apiCluster(s, kc.identity, now);
  if (!cluster) {
    const other = Object.values(s.etcd.clusters).some((c) => world.reached(world.apiUpAt(s, ctx.cfg, c, now), now));
    throw new Fail(
      other
        ? unableToConnect("tls: failed to verify certificate: x509: certificate signed by unknown authority")
        : refused,
    );
  }
  if (!world.reached(world.apiUpAt(s, ctx.cfg, cluster, now), now)) throw new Fail(refused);
  // A node's own address reaches that node's kube-apiserver (its certificate names every node
  // address: secrets/kubernetes_cert_sans.go @ v1.10.5); the endpoint reaches one that serves.
  const ours = Object.values(s.nodes).filter((n) => n.config && n.config.k8sIdentity === cluster.k8sIdentity);
  const host = serverHost(kc.server).replace(/:\d+$/, "");
  const node = ours.find((n) => n.address === host);
  if (
    node
      ? !nodes.apiServerServing(s, ctx.cfg, node, now)
      : !ours.some((n) => nodes.apiServerServing(s, ctx.cfg, n, now))
  )
    throw new Fail(refused);
  const serving = node || ours.find((n) => nodes.apiServerServing(s, ctx.cfg, n, now));
  return { s, now, cluster, kinds: world.servedKinds(s, ctx.cfg, now), node: serving };
}

/** Split resource arguments into [{ki, name|null}] (cli-runtime ResourceTypeOrNameArgs). */
function targets(args, kinds) {
  if (!args.length) throw new Fail("error: you must specify the type of resource to get");
  const resolve = (r) => {
    const ki = world.resolveKind(r, kinds);
    // builder.go mappingFor @ cli-runtime v0.33.2
    if (!ki) throw new Fail(`error: the server doesn't have a resource type "${r.split(".")[0]}"`);
    return ki;
  };
  if (args.every((a) => a.includes("/")))
    return args.map((a) => ({ ki: resolve(a.slice(0, a.indexOf("/"))), name: a.slice(a.indexOf("/") + 1) }));
  if (args.some((a) => a.includes("/")))
    throw new Fail(
      "error: there is no need to specify a resource type as a separate argument when passing arguments in resource/name form",
    );
  const ki = resolve(args[0]);
  return args.length === 1 ? [{ ki, name: null }] : args.slice(1).map((name) => ({ ki, name }));
}

/**
 * An equality-based label selector (`k=v`, `k==v`, `k!=v`, `k`, `!k`, comma = and), as
 * k8s.io/apimachinery v0.33.2 pkg/labels/selector.go Parse reads it; set-based terms are not
 * simulated.
 */
function labelSelector(text) {
  if (text == null) return () => true;
  const terms = text
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean)
    .map((t) => {
      if (/[()]|\s(in|notin)\s/.test(t))
        throw new Fail(`fake kubectl: set-based selector ${JSON.stringify(t)} is not simulated`, 3);
      const m = /^(!?)([A-Za-z0-9_./-]+)(?:(!=|==|=)(.*))?$/.exec(t);
      if (!m || (m[1] && m[3]))
        throw new Fail(`error: unable to parse requirement: found '${t}', expected: identifier`);
      return { not: !!m[1], key: m[2], op: m[3] || null, value: m[4] };
    });
  return (o) => {
    const labels = (o.metadata && o.metadata.labels) || {};
    return terms.every((t) => {
      const has = Object.prototype.hasOwnProperty.call(labels, t.key);
      if (!t.op) return t.not ? !has : has;
      return t.op === "!=" ? labels[t.key] !== t.value : has && labels[t.key] === t.value;
    });
  };
}

function select(objs, ki, name, ns, selector) {
  const matches = labelSelector(selector);
  return objs.filter(
    (o) =>
      o.kind === ki.kind &&
      (name == null || o.metadata.name === name) &&
      (ki.cluster || ns == null || (o.metadata.namespace || "default") === ns) &&
      matches(o),
  );
}

/**
 * Helm 3 keeps each release revision in a Secret of its namespace: named
 * `sh.helm.release.v1.<release>.v<revision>` (helm v3.17.0 pkg/storage/storage.go makeKey,
 * HelmStorageType), type helm.sh/release.v1, labelled name=<release>, owner=helm, status,
 * version (pkg/storage/driver/secrets.go newSecretsObject). Every release recorded in the fake
 * cluster (the program's Pulumi Helm releases) has its first revision, deployed.
 */
function helmStorageSecrets(s) {
  return s.k8s.objects
    .filter((o) => o.kind === world.HELM_KIND)
    .map((o) => ({
      apiVersion: "v1",
      kind: "Secret",
      type: "helm.sh/release.v1",
      metadata: {
        name: `sh.helm.release.v1.${o.metadata.name}.v1`,
        namespace: o.metadata.namespace || "default",
        creationTimestamp: world.iso(o.createdAt),
        labels: { name: o.metadata.name, owner: "helm", status: "deployed", version: "1" },
      },
      status: {},
    }));
}

/** The objects the API serves now, the Helm storage Secrets included. */
function served(ctx, w) {
  return world.objects(w.s, ctx.cfg, w.cluster, w.now, ctx.never).concat(helmStorageSecrets(w.s));
}

function cmdGet(ctx, flags, args, ns) {
  const kc = kubeconfigOf(flags);
  const w = connect(ctx, kc);
  if (flags.raw) {
    if (args.length) throw new Fail("error: arguments may not be passed when --raw is specified");
    if (flags.raw === "/version") {
      // k8s.io/apiserver v0.31.14 pkg/server/routes/version.go: WriteRawJSON (json.MarshalIndent,
      // two spaces) of version.Info; gitVersion is the answering kube-apiserver's own version
      const git = nodes.runningVersion(w.node, "kube-apiserver", w.now) || "v0.0.0";
      const [major, minor] = git.replace(/^v/, "").split(".");
      const info = {
        major,
        minor,
        gitVersion: git,
        gitCommit: "fake",
        gitTreeState: "clean",
        buildDate: "1970-01-01T00:00:00Z",
        goVersion: "go1.22",
        compiler: "gc",
        platform: "linux/amd64",
      };
      return ctx.out(JSON.stringify(info, null, 2));
    }
    if (!/^\/(readyz|livez|healthz)(\?.*)?$/.test(flags.raw))
      throw new Fail(`fake kubectl: get --raw ${flags.raw} is not simulated`, 3);
    return ctx.out("ok");
  }
  const objs = served(ctx, w);
  const ts = targets(args, w.kinds);
  const found = [];
  for (const t of ts) {
    const got = select(objs, t.ki, t.name, ns, flags.selector);
    if (t.name != null && !got.length) throw notFound(t.ki, t.name);
    found.push(...got);
  }
  const output = flags.output;
  if (!found.length && output !== "json" && !(output || "").startsWith("jsonpath"))
    return ctx.err(ns == null ? "No resources found\n" : `No resources found in ${ns} namespace.\n`);
  const pub = found.map(world.publicObject);
  const doc =
    ts.length === 1 && ts[0].name != null
      ? pub[0]
      : { apiVersion: "v1", kind: "List", items: pub, metadata: { resourceVersion: "" } };
  if (!output) ctx.out("NAME\n" + pub.map((o) => `${o.metadata.name}\n`).join(""));
  else if (output === "name")
    ctx.out(pub.map((o) => `${typeName(world.kindInfo(o.kind))}/${o.metadata.name}\n`).join(""));
  else if (output === "json") ctx.out(JSON.stringify(doc, null, 4) + "\n");
  else if (output === "yaml") ctx.out(YAML.stringify(doc));
  else if (output.startsWith("jsonpath=")) {
    try {
      ctx.out(jsonpath(output.slice(9), doc));
    } catch (e) {
      throw new Fail(`error: error parsing jsonpath ${output.slice(9)}, ${e.message}`);
    }
  } else throw new Fail(`fake kubectl: output format ${JSON.stringify(output)} is not simulated`, 3);
}

/** kubectl wait --for=condition=C[=V] (pkg/cmd/wait wait.go RunWait, condition.go). */
function cmdWait(ctx, flags, args, ns) {
  const m = /^condition=([^=]+)(?:=(.*))?$/.exec(flags.for || "");
  if (!flags.for) throw new Fail("error: --for must be specified");
  if (!m) throw new Fail(`fake kubectl: wait --for=${flags.for} is not simulated (only condition=...)`, 3);
  const condType = m[1].toLowerCase();
  const want = (m[2] == null ? "True" : m[2]).toLowerCase();
  const timeoutMs = flags.timeout == null ? 30000 : parseDuration(flags.timeout);
  if (Number.isNaN(timeoutMs))
    throw usage(
      "wait",
      `invalid argument "${flags.timeout}" for "--timeout" flag: time: invalid duration "${flags.timeout}"`,
    );
  const kc = kubeconfigOf(flags);
  const deadline = Date.now() + timeoutMs;
  let w = connect(ctx, kc);
  const ts = targets(args, w.kinds);
  const all = flags.all === "true" || flags.selector != null;
  if (!all && ts.some((t) => t.name == null))
    throw new Fail("error: resource(s) were provided, but no name was specified");
  const pending = [];
  const objs = served(ctx, w);
  for (const t of ts) {
    const got = select(objs, t.ki, t.name, ns, flags.selector);
    if (t.name != null && !got.length) throw notFound(t.ki, t.name);
    for (const o of got) pending.push({ ki: t.ki, name: o.metadata.name, ns: o.metadata.namespace || null });
  }
  if (!pending.length) throw new Fail("error: no matching resources found");
  for (const p of pending) {
    for (;;) {
      const cur = select(served(ctx, w), p.ki, p.name, p.ns)[0];
      if (!cur) throw notFound(p.ki, p.name);
      const c = ((cur.status && cur.status.conditions) || []).find((x) => x.type.toLowerCase() === condType);
      if (c && c.status.toLowerCase() === want) {
        ctx.out(`${typeName(p.ki)}/${p.name} condition met\n`);
        break;
      }
      if (Date.now() >= deadline) {
        // the `never` fault decided the outcome when the condition was really met
        ctx.neverDelivered = ctx.never && !!c && world.reached(c._trueAt, w.now) && want === "true";
        throw new Fail(`error: timed out waiting for the condition on ${world.plural(p.ki)}/${p.name}`);
      }
      store.sleepMs(Math.min(50, deadline - Date.now()));
      w = connect(ctx, kc);
    }
  }
}

/**
 * The Node object a cordon/drain/delete names, from the API server this kubeconfig reaches, or
 * the NotFound kubectl prints (k8s.io/cli-runtime v0.33 builder: `nodes "<name>" not found`).
 */
function nodeObject(ctx, w, name) {
  const obj = served(ctx, w).find((o) => o.kind === "Node" && o.metadata.name === name);
  if (!obj) throw notFound(world.kindInfo("Node"), name);
  return Object.values(w.s.nodes).find(
    (n) => n.config && n.config.k8sIdentity === w.cluster.k8sIdentity && nodes.memberName(n) === name,
  );
}

/**
 * kubectl cordon / drain (k8s.io/kubectl v0.33 pkg/cmd/drain/drain.go RunCordonOrUncordon, RunDrain;
 * pkg/drain/cordon.go PatchOrReplace sets spec.unschedulable): "node/<name> cordoned" (or "already
 * cordoned"); drain then evicts the node's pods: mirror pods are skipped silently (pkg/drain/
 * filters.go mirrorPodFilter), DaemonSet pods ignored with --ignore-daemonsets; the fake world's
 * only pods are mirror pods, so nothing is evicted; "node/<name> drained".
 */
function cmdCordon(ctx, flags, args, drain) {
  if (args.length !== 1)
    throw new Fail(`fake kubectl: ${drain ? "drain" : "cordon"} of ${args.length} arguments is not simulated`, 3);
  const w = connect(ctx, kubeconfigOf(flags));
  const target = nodeObject(ctx, w, args[0]);
  let already = false;
  store.updateState(ctx.dir, (s) => {
    const n = s.nodes[target.address];
    already = n.cordon != null;
    if (!already) n.cordon = "user";
  });
  ctx.out(`node/${args[0]} ${already ? "already cordoned" : "cordoned"}\n`);
  if (drain) ctx.out(`node/${args[0]} drained\n`);
}

/**
 * kubectl delete node <name> (pkg/cmd/delete/delete.go): `node "<name>" deleted`; with
 * --ignore-not-found a missing Node prints nothing, exit 0. The kubelet registers its Node once
 * per start (kubernetes v1.31 pkg/kubelet/kubelet_node_status.go registerWithAPIServer returns at
 * once when registrationCompleted): a deleted Node stays gone until the node boots again.
 */
function cmdDelete(ctx, flags, args) {
  if (args.length !== 2 || !["node", "nodes", "no"].includes(args[0]))
    throw new Fail(`fake kubectl: delete ${args.join(" ")} is not simulated (only delete node <name>)`, 3);
  const w = connect(ctx, kubeconfigOf(flags));
  let target;
  try {
    target = nodeObject(ctx, w, args[1]);
  } catch (e) {
    if (flags["ignore-not-found"] === "true") return;
    throw e;
  }
  store.updateState(ctx.dir, (s) => {
    s.nodes[target.address].k8sNodeDeletedAt = Date.now();
  });
  ctx.out(`node "${args[1]}" deleted\n`);
}

run("kubectl", (ctx) => {
  const { verb, flags, args } = parse(ctx.argv);
  ctx.setCall({ command: verb, flags, args });
  if (!verb) throw usage(null, "no command given");
  if (!VERB_FLAGS[verb]) throw new Fail(`fake kubectl: not simulated: ${verb}`, 3);
  flags.kubeconfig = flags.kubeconfig || process.env.KUBECONFIG;
  if (!flags.kubeconfig)
    throw new Fail("fake kubectl: --kubeconfig is required (no ambient ~/.kube/config in the fake world)", 3);
  // drop: the server closed the connection after the request was sent (net/http returns io.EOF).
  ctx.applyFaults({
    unreachable: () => refusedBy(kubeconfigOf(flags).server),
    timeout: unableToConnect("net/http: request canceled (Client.Timeout exceeded while awaiting headers)"),
    drop: unableToConnect("EOF"),
  });
  const ns = flags["all-namespaces"] === "true" ? null : flags.namespace || "default";
  if (verb === "get") cmdGet(ctx, flags, args, ns);
  else if (verb === "wait") cmdWait(ctx, flags, args, ns);
  else if (verb === "delete") cmdDelete(ctx, flags, args);
  else cmdCordon(ctx, flags, args, verb === "drain");
});
