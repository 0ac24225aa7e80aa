"use strict";
/**
 * Talos versions in the fake world: which talosctl is running (the client), which Talos a node
 * runs (the server), and the version rules the real code applies between them. Every table cites
 * the source it was read from.
 */
const path = require("path");

/** semver.ParseTolerant's core: "v1.12.6", "1.12.6-alpha.3" -> {major, minor, patch, pre}. */
function parse(v) {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?$/.exec(String(v || "").trim());
  if (!m) return null;
  return { major: +m[1], minor: +m[2], patch: m[3] == null ? 0 : +m[3], pre: m[4] || "" };
}

/** semver comparison (pre-releases sort before their release, compared as strings here). */
function compare(a, b) {
  const x = typeof a === "string" ? parse(a) : a;
  const y = typeof b === "string" ? parse(b) : b;
  for (const k of ["major", "minor", "patch"]) if (x[k] !== y[k]) return x[k] < y[k] ? -1 : 1;
  if (x.pre === y.pre) return 0;
  if (!x.pre) return 1;
  if (!y.pre) return -1;
  return x.pre < y.pre ? -1 : 1;
}

/** "1.12.6" (semver String(), as Talos prints host/installer versions in its messages). */
const plain = (v) => {
  const p = typeof v === "string" ? parse(v) : v;
  return `${p.major}.${p.minor}.${p.patch}${p.pre ? `-${p.pre}` : ""}`;
};
/** The Talos minor as a number: "v1.12.6" -> 12. */
const minor = (v) => (parse(v) || { minor: NaN }).minor;

/**
 * The talosctl the e2e tier builds per minor (test/e2e/tools/build.sh) and the CLI reference
 * (shared/contracts/talos/talosctl-cli.json) has a block for.
 */
const CLIENT_OF_MINOR = { 10: "v1.10.5", 11: "v1.11.5", 12: "v1.12.6", 13: "v1.13.9", 14: "v1.14.1" };

/**
 * The newest release per minor, for the fake's "is this a Talos release" test of an installer
 * tag: the newest git tag of siderolabs/talos (mirror: v1.10.9, v1.11.6, v1.12.11, v1.13.9), and
 * v1.14.1 from the Go module proxy (the mirror ends at v1.14.0-rc.1; contracts/NOTES.md §7.0).
 */
const NEWEST_PATCH = { 10: 9, 11: 6, 12: 11, 13: 9, 14: 1 };
const isRelease = (v) => {
  const p = parse(v);
  return !!p && p.major === 1 && !p.pre && NEWEST_PATCH[p.minor] != null && p.patch <= NEWEST_PATCH[p.minor];
};

/**
 * Which talosctl this process is: the name it was called by (`talosctl-v1.12` -> v1.12.6: the
 * wrappers in bin/, as a stack names one talosctl per minor), else FAKE_TALOSCTL_VERSION, else
 * the world's talosVersion.
 */
function clientVersion(cfg, argv1) {
  const m = /^talosctl-v1\.(\d+)$/.exec(path.basename(argv1 || process.argv[1] || ""));
  if (m && CLIENT_OF_MINOR[+m[1]]) return CLIENT_OF_MINOR[+m[1]];
  if (process.env.FAKE_TALOSCTL_VERSION) return process.env.FAKE_TALOSCTL_VERSION;
  return cfg.talosVersion;
}

/**
 * UpgradeableFrom per target minor (pkg/machinery/compatibility/talos1NN @ v1.14.1:
 * MinimumHostUpgradeVersion, MaximumHostDowngradeVersion; no denied versions): the installer of
 * minor N refuses a host older than min or at/above maxDowngrade.
 */
const UPGRADEABLE_FROM = {
  10: { min: "1.8.0", maxDowngrade: "1.12.0" },
  11: { min: "1.9.0", maxDowngrade: "1.13.0" },
  12: { min: "1.10.0", maxDowngrade: "1.14.0" },
  13: { min: "1.11.0", maxDowngrade: "1.15.0" },
  14: { min: "1.12.0", maxDowngrade: "1.16.0" },
};

/** TalosVersion.UpgradeableFrom (compatibility/talos_version.go @ v1.14.1): null or the error text. */
function upgradeableFrom(target, host) {
  const t = parse(target);
  const h = parse(host);
  const rule = UPGRADEABLE_FROM[t.minor];
  if (!rule || t.major !== 1) return `upgrades to version ${plain(t)} are not supported`;
  // hostCore: major, minor, patch (the pre-release is ignored)
  const core = { major: h.major, minor: h.minor, patch: h.patch, pre: "" };
  if (compare(core, rule.min) < 0) return `host version ${plain(h)} is too old to upgrade to Talos ${plain(t)}`;
  if (compare(core, rule.maxDowngrade) >= 0)
    return `host version ${plain(h)} is too new to downgrade to Talos ${plain(t)}`;
  return null;
}

/**
 * Kubernetes versions a Talos minor runs (compatibility/talos1NN Minimum/MaximumKubernetesVersion
 * @ v1.14.1; KubernetesVersion.SupportedWith in kubernetes_version.go): [min, max) on
 * major.minor.patch.
 */
const KUBERNETES_RANGE = {
  10: ["1.28.0", "1.33.99"],
  11: ["1.29.0", "1.34.99"],
  12: ["1.30.0", "1.35.99"],
  13: ["1.31.0", "1.36.99"],
  14: ["1.32.0", "1.37.99"],
};

/** SupportedWith: null or the error text (versions printed as semver String()). */
function kubernetesSupportedWith(k8s, talos) {
  const k = parse(k8s);
  const t = parse(talos);
  const range = KUBERNETES_RANGE[t.minor];
  if (!range) return `compatibility with version ${plain(t)} is not supported`;
  const core = { major: k.major, minor: k.minor, patch: k.patch, pre: "" };
  if (compare(core, range[0]) < 0)
    return `version of Kubernetes ${plain(k)} is too old to be used with Talos ${plain(t)}`;
  if (compare(core, range[1]) >= 0)
    return `version of Kubernetes ${plain(k)} is too new to be used with Talos ${plain(t)}`;
  return null;
}

/**
 * constants.DefaultKubernetesVersion of each talosctl (pkg/machinery/constants @ v1.10.5,
 * v1.11.5, v1.12.6, v1.13.9, v1.14.1): `upgrade-k8s --to`'s default.
 */
const DEFAULT_KUBERNETES = { 10: "1.33.2", 11: "1.34.1", 12: "1.35.2", 13: "1.36.3", 14: "1.37.0" };

/**
 * The newest Kubernetes minor each talosctl's go-kubernetes knows (kubernetes/upgrade/path.go
 * Path.IsSupported: v0.2.23 -> 1.33, v0.2.26 -> 1.34, v0.2.28 -> 1.35, v0.2.38 -> 1.36, v0.2.41 ->
 * 1.37; go.mod of talos @ v1.10.5 ... v1.14.1). Supported: X->X or X->X+1 from 1.19 up to it.
 */
const NEWEST_K8S_PATH = { 10: 33, 11: 34, 12: 35, 13: 36, 14: 37 };

function upgradePathSupported(clientMinor, from, to) {
  const f = parse(from);
  const t = parse(to);
  const newest = NEWEST_K8S_PATH[clientMinor] || 37;
  if (f.major !== 1 || t.major !== 1 || f.minor < 19 || t.minor > newest) return false;
  return t.minor === f.minor || t.minor === f.minor + 1;
}

/**
 * The LifecycleService API range of talosctl 1.13/1.14 (cmd/talosctl/cmd/talos/upgrade.go
 * talosUpgradeAPIVersionRange ">1.13.0-alpha.2 <2.0.0" @ v1.13.9, v1.14.1).
 */
const lifecycleApi = (serverVersion) =>
  compare(serverVersion, "1.13.0-alpha.2") > 0 && compare(serverVersion, "2.0.0") < 0;

module.exports = {
  parse,
  compare,
  plain,
  minor,
  CLIENT_OF_MINOR,
  NEWEST_PATCH,
  isRelease,
  clientVersion,
  UPGRADEABLE_FROM,
  upgradeableFrom,
  KUBERNETES_RANGE,
  kubernetesSupportedWith,
  DEFAULT_KUBERNETES,
  NEWEST_K8S_PATH,
  upgradePathSupported,
  lifecycleApi,
};
