/**
 * The install disk selector as the CEL expression an UnattendedInstallConfig takes (contract
 * v1.14). It is the expression Talos itself derives from a legacy `machine.install.diskSelector`
 * (talos @ v1.14.1 : pkg/machinery/config/types/v1alpha1/v1alpha1_provider.go
 * InstallConfig.DiskMatchExpression), term for term and in its order, so the same disk is chosen
 * under either contract:
 *   size (`disk.size <op> <bytes>u`), model and serial as `glob(pattern, disk.<field>)`,
 *   `disk.transport != ""` (no device-mapper disks), type (nvme: transport "nvme", sd: transport
 *   "mmc", hdd: `disk.rotational`, ssd: `!disk.rotational`), busPath as a glob, then
 *   `!disk.readonly` and `!disk.cdrom`.
 * `glob` is Talos's CEL function (pkg/machinery/cel/celenv/celenv.go DiskLocator, go-glob).
 */
import type { DiskSelector } from "../../config/types";
import { parseDiskSize } from "../../config/diskSize";

/** A CEL string literal (CEL accepts JSON's escapes). */
function celString(value: string): string {
  return JSON.stringify(value);
}

function typeTerm(type: NonNullable<DiskSelector["type"]>): string {
  switch (type) {
    case "nvme":
      return 'disk.transport == "nvme"';
    case "sd":
      return 'disk.transport == "mmc"';
    case "hdd":
      return "disk.rotational";
    case "ssd":
      return "!disk.rotational";
  }
}

/** The CEL expression matching the same disks as the legacy selector. */
export function installDiskCel(selector: DiskSelector): string {
  const terms: string[] = [];
  if (selector.size !== undefined) {
    const size = parseDiskSize(selector.size);
    if (size === undefined) {
      throw new Error(
        `install disk size ${JSON.stringify(selector.size)} does not parse (config validation refuses it)`,
      );
    }
    terms.push(`disk.size ${size.op} ${size.bytes}u`);
  }
  if (selector.model !== undefined) terms.push(`glob(${celString(selector.model)}, disk.model)`);
  if (selector.serial !== undefined) terms.push(`glob(${celString(selector.serial)}, disk.serial)`);
  terms.push('disk.transport != ""');
  if (selector.type !== undefined) terms.push(typeTerm(selector.type));
  if (selector.busPath !== undefined) terms.push(`glob(${celString(selector.busPath)}, disk.bus_path)`);
  terms.push("!disk.readonly", "!disk.cdrom");
  return terms.join(" && ");
}
