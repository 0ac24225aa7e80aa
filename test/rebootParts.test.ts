import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REBOOT_PARTS } from "../talos/scripts/reboot";
import { SCRIPTS } from "../talos/scripts";

/** The parts of a machine config a v1.14 node applies only at its next boot, as the script sees them. */
function parts(yaml: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "reboot-parts-"));
  try {
    const file = path.join(dir, "config.yaml");
    fs.writeFileSync(file, yaml);
    const r = spawnSync("/bin/sh", ["-c", `${REBOOT_PARTS}reboot_parts "$1"`, "sh", file], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const BASE = `version: v1alpha1
machine:
    type: controlplane
    install:
        image: factory.talos.dev/metal-installer/abc:v1.14.1
    kubelet:
        image: ghcr.io/siderolabs/kubelet:v1.34.1
    env:
        HTTP_PROXY: http://proxy:3128
    kernel:
        modules:
            - name: drbd
              parameters:
                  - usermode_helper=disabled
    sysctls:
        vm.dirty_ratio: "5"
cluster:
    etcd:
        advertisedSubnets:
            - 172.29.51.0/24
    apiServer:
        image: registry.k8s.io/kube-apiserver:v1.34.1
---
apiVersion: v1alpha1
kind: UserVolumeConfig
name: longhorn
encryption:
    provider: luks2
---
apiVersion: v1alpha1
kind: VolumeConfig
name: EPHEMERAL
encryption:
    provider: luks2
    keys:
        - slot: 0
          nodeID: {}
`;

describe("v1.14 reboot classification (talos/scripts/reboot.ts)", () => {
  const base = parts(BASE);
  const changed = (from: string, to: string) => {
    const text = BASE.replace(from, to);
    assert.notEqual(text, BASE, `fixture has ${from}`);
    return parts(text) !== base;
  };

  it("finds the documented parts in the fixture", () => {
    assert.match(base, /^v1alpha1\|\.cluster\.etcd\.advertisedSubnets\| {12}- 172\.29\.51\.0\/24$/m);
    assert.match(base, /^v1alpha1\|\.machine\.env\.HTTP_PROXY\|/m);
    assert.match(base, /^v1alpha1\|\.machine\.kernel\.modules\.parameters\|/m);
    assert.match(base, /^VolumeConfig\|\.encryption\.keys\.nodeID\|/m);
  });

  it("a change the docs list as needing a reboot is one", () => {
    assert.ok(changed("172.29.51.0/24", "172.29.52.0/24"), ".cluster.etcd");
    assert.ok(changed("http://proxy:3128", "http://proxy:3129"), ".machine.env");
    assert.ok(changed("usermode_helper=disabled", "usermode_helper=enabled"), "kernel module parameters");
    assert.ok(changed("          nodeID: {}", "          tpm: {}"), "system volume encryption keys");
  });

  it("a change applied live, or only at install and upgrade, is not", () => {
    assert.ok(!changed("kubelet:v1.34.1", "kubelet:v1.35.0"), ".machine.kubelet");
    assert.ok(!changed("kube-apiserver:v1.34.1", "kube-apiserver:v1.35.0"), ".cluster.apiServer");
    assert.ok(!changed('vm.dirty_ratio: "5"', 'vm.dirty_ratio: "6"'), ".machine.sysctls");
    assert.ok(!changed("abc:v1.14.1", "def:v1.14.1"), ".machine.install (install/upgrade only)");
    assert.ok(!changed("name: longhorn", "name: longhorn2"), "a user volume");
  });

  it("the apply script asks only on v1.14 and reboots drained, after the apply took, before the health gate", () => {
    const apply = SCRIPTS["apply-node"];
    assert.match(
      apply,
      /needs_reboot\(\) \{\n {2}case "\$TALOS_MINOR" in v1\.10 \| v1\.11 \| v1\.12 \| v1\.13\) return 1 ;; esac/,
    );
    const order = [
      "needs_reboot && reboot_needed=yes",
      "apply run",
      "wait_holds_config\n",
      '[ "$reboot_needed" = yes ] && reboot_node',
      'this_node_healthy "',
    ];
    let at = apply.indexOf("lock_acquire\n  gate_cluster");
    for (const marker of order) {
      const next = apply.indexOf(marker, at);
      assert.ok(next > at, `${marker} after the previous`);
      at = next;
    }
    assert.match(apply, /"reboot" "--nodes" "\$\{NODE_ADDRESS\}" .*"--drain"/);
  });
});
