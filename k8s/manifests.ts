/**
 * Conventions of the offline render of Kubernetes objects (`out/<stack>/kubernetes/*.yaml`; the
 * objects themselves come from the plan, see render/files.ts). Secret values are replaced by a
 * marker: they are read from 1Password at apply time and must never reach the working tree.
 */
import type { KubernetesObject } from "./kubernetesObject";

export const SECRET_MARKER = "<secret: set at apply time from 1Password>";

/** A file name for one rendered object: `<index>-<kind>-<namespace>-<name>.yaml`, filesystem-safe. */
export function renderedObjectFileName(index: number, object: KubernetesObject): string {
  const safe = (s: string) =>
    s
      .toLowerCase()
      .replace(/[^a-z0-9.-]+/g, "-")
      .replace(/^-+|-+$/g, "");
  const parts = [
    String(index + 1).padStart(2, "0"),
    safe(object.kind),
    object.metadata.namespace,
    object.metadata.name,
  ];
  return `${parts
    .filter((p): p is string => p !== undefined && p !== "")
    .map(safe)
    .join("-")}.yaml`;
}
