/**
 * The talos-upgrade step script's decisions, against a minimal stand-in talosctl written here
 * (one node that answers version --json, get extensions and upgrade; no etcd, so the cluster does
 * not run and the health gates are not reached). The full flow against the per-minor fakes
 * (test/fakes, branch h11-fakes-minors) comes with those fakes.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { scriptFileText } from "../talos/scripts";
import { scaledSeconds } from "./helpers/calibration";

const A = "a".repeat(64);
const B = "b".repeat(64);

/**
 * Stand-in talosctl: records every call; `version --json` prints protojson with the tag in
 * $STUB/version (talos cmd/talosctl/cmd/talos/version.go, NOTES §7.7), `get extensions` the
 * schematic line, `upgrade` moves the node to $STUB/next unless $STUB/fallback exists (an A/B
 * fallback: the node boots its old entry again and talosctl still reports success, NOTES §7.3).
 * `get extensions -o jsonpath={.spec.metadata.name}={.spec.metadata.version}` prints each result
 * on a line of its own, the "=" text included (talosctl output/jsonpath.go; test/fakes resources.js).
 */
const STUB = `#!/bin/sh
echo "$*" >>"$STUB/calls"
case "$1 $2" in
  "gen config") while [ $# -gt 0 ]; do [ "$1" = --output ] && : >"$2"; shift; done; exit 0 ;;
  "version --nodes") printf '{"metadata":{"hostname":"n1"}, "version":{"tag": "%s","sha":"abc"}}\\n' "$(cat "$STUB/version")"; exit 0 ;;
  "get extensions") printf 'iscsi-tools\\n=\\nv0.1.6\\nschematic\\n=\\n%s\\n' "$(cat "$STUB/schematic")"; exit 0 ;;
  "upgrade --nodes") [ -e "$STUB/fallback" ] || cp "$STUB/next" "$STUB/version"; exit 0 ;;
  "etcd members") echo "rpc error: code = Unavailable desc = connection error: connection refused" >&2; exit 1 ;;
esac
echo "stand-in talosctl: unexpected call: $*" >&2
exit 1
`;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  calls: string[];
}

function runUpgrade(opts: {
  runs: string;
  schematic?: string;
  fallback?: boolean;
  minor?: string;
  settings?: Record<string, string>;
}): Run {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "upgrade-script-"));
  try {
    const stub = path.join(dir, "stub");
    fs.mkdirSync(stub);
    fs.writeFileSync(path.join(stub, "talosctl"), STUB, { mode: 0o755 });
    fs.writeFileSync(path.join(stub, "version"), opts.runs);
    fs.writeFileSync(path.join(stub, "schematic"), opts.schematic ?? A);
    fs.writeFileSync(path.join(stub, "next"), "v1.12.6");
    fs.writeFileSync(path.join(stub, "calls"), "");
    if (opts.fallback) fs.writeFileSync(path.join(stub, "fallback"), "");
    const settings: Record<string, string> = {
      TALOSCTL: "talosctl-none",
      TALOSCTL_V1_12: path.join(stub, "talosctl"),
      TALOSCTL_V1_14: path.join(stub, "talosctl"),
      KUBECTL: "kubectl-none",
      POLL_SECONDS: "0.2",
      TIMEOUT_NODE_READY: String(scaledSeconds(5)),
      TIMEOUT_HEALTH: String(scaledSeconds(5)),
      TIMEOUT_ROLLING: String(scaledSeconds(5)),
      CALL_TIMEOUT: String(scaledSeconds(10)),
      PROBE_TIMEOUT: String(scaledSeconds(5)),
      UPGRADE_WAIT: `${scaledSeconds(10)}s`,
      DRAIN_WAIT: `${scaledSeconds(5)}s`,
      ROLLING_LOCK: ".homeops/t/rolling.lock",
      NODE_ADDRESSES: "127.0.0.1",
      CONTROL_PLANE_ADDRESSES: "127.0.0.1",
      NODE_NAMES: "127.0.0.1=mini01",
      CLUSTER_WAS_RUNNING: "no",
      ...opts.settings,
    };
    fs.mkdirSync(path.join(dir, ".homeops", "t"), { recursive: true });
    fs.writeFileSync(
      path.join(dir, ".homeops", "t", "settings.env"),
      Object.entries(settings)
        .map(([k, v]) => `${k}='${v}'`)
        .join("\n") + "\n",
    );
    const script = path.join(dir, "talos-upgrade.sh");
    fs.writeFileSync(script, scriptFileText("talos-upgrade"));
    const minor = opts.minor ?? "v1.12";
    const r = spawnSync("/bin/sh", [script], {
      cwd: dir,
      input: "secrets-bundle-stand-in\n",
      encoding: "utf8",
      env: {
        PATH: process.env.PATH,
        STUB: stub,
        STEP_ID: "talos-upgrade-v1.12.6-mini01",
        HOMEOPS_SETTINGS: ".homeops/t/settings.env",
        NODE_HOSTNAME: "mini01",
        NODE_ADDRESS: "127.0.0.1",
        NODE_ROLE: "controlplane",
        FROM_VERSION: "v1.10.5",
        FROM_SCHEMATIC: A,
        TO_VERSION: "v1.12.6",
        SCHEMATIC: B,
        INSTALL_IMAGE: `factory.talos.dev/installer/${B}:v1.12.6`,
        TALOS_MINOR: minor,
        TALOSCTL_SETTING: `TALOSCTL_${minor.toUpperCase().replace(/\./g, "_")}`,
        CLUSTER_NAME: "home-ops",
        CLUSTER_ENDPOINT: "https://127.0.0.1:6443",
        TMPDIR: dir,
      },
    });
    const calls = fs.readFileSync(path.join(stub, "calls"), "utf8").split("\n").filter(Boolean);
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, calls };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const upgradeCalls = (r: Run) => r.calls.filter((c) => c.startsWith("upgrade "));

describe("talos-upgrade script (talos/scripts/upgrade.ts)", () => {
  it("a node already on the hop's version and schematic is skipped: no upgrade call", () => {
    const r = runUpgrade({ runs: "v1.12.6", schematic: B });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /mini01 already runs Talos v1\.12\.6/);
    assert.deepEqual(upgradeCalls(r), []);
  });

  it("a node on anything the hop does not assume is refused, naming what it runs", () => {
    const r = runUpgrade({ runs: "v1.11.5" });
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /mini01 \(127\.0\.0\.1\) runs Talos v1\.11\.5 with schematic a{64}; this hop assumed v1\.10\.5/,
    );
    assert.deepEqual(upgradeCalls(r), []);
  });

  it("upgrades one node with one call and checks the version and schematic it comes back with", () => {
    // The stand-in moves the version, not the schematic: the schematic check must catch that.
    const r = runUpgrade({ runs: "v1.10.5" });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /came back running Talos v1\.12\.6 with schematic a{64}, not v1\.12\.6 with b{64}/);
    assert.equal(upgradeCalls(r).length, 1);
    const call = upgradeCalls(r)[0].split(" ");
    assert.equal(call.filter((a) => a === "--nodes").length, 1);
    assert.ok(call.includes(`factory.talos.dev/installer/${B}:v1.12.6`));
    assert.ok(!call.includes("--drain=true"), "talosctl 1.12: the legacy call");
  });

  it("an A/B fallback (the node comes back on its old version) stops the rollout, naming what it runs", () => {
    const r = runUpgrade({ runs: "v1.10.5", fallback: true });
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /mini01 \(127\.0\.0\.1\) came back running Talos v1\.10\.5 .*A\/B fallback.*the rollout stops here/,
    );
  });

  it("with talosctl 1.13+ the LifecycleService call drains explicitly, still one node", () => {
    const r = runUpgrade({ runs: "v1.10.5", minor: "v1.14" });
    const call = upgradeCalls(r)[0].split(" ");
    assert.ok(call.includes("--drain=true") && call.includes("--drain-timeout"), call.join(" "));
    assert.equal(call.filter((a) => a === "--nodes").length, 1);
  });

  it("a minor without a talosctl in the run-time settings fails naming the setting to set", () => {
    const r = runUpgrade({ runs: "v1.10.5", settings: { TALOSCTL_V1_12: "" } });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no talosctl for Talos v1\.12 .*homeops:talos\.talosctls\["v1\.12"\]/);
    assert.deepEqual(r.calls, []);
  });
});
