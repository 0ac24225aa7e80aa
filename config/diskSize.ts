/**
 * Talos's install-disk size matcher (`machine.install.diskSelector.size`, e.g. ">= 100GB"), parsed
 * the way Talos parses it: an optional comparison, then a size read by go-humanize ParseBytes
 * (talos @ v1.14.1 : pkg/machinery/config/types/v1alpha1/v1alpha1_types.go InstallDiskSizeMatcher
 * UnmarshalYAML; dustin/go-humanize bytes.go ParseBytes and its unit table, SI and IEC).
 */

export interface DiskSize {
  /** The comparison; Talos reads a missing one as "==" (v1alpha1_provider.go DiskMatchExpression). */
  readonly op: ">=" | "<=" | ">" | "<" | "==";
  /** Bytes, as Go computes them: float64(number) * unit, truncated to uint64. */
  readonly bytes: bigint;
}

const KIB = 1024;
const UNITS: Readonly<Record<string, number>> = {
  "": 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  ki: KIB,
  kib: KIB,
  m: 1e6,
  mb: 1e6,
  mi: KIB ** 2,
  mib: KIB ** 2,
  g: 1e9,
  gb: 1e9,
  gi: KIB ** 3,
  gib: KIB ** 3,
  t: 1e12,
  tb: 1e12,
  ti: KIB ** 4,
  tib: KIB ** 4,
  p: 1e15,
  pb: 1e15,
  pi: KIB ** 5,
  pib: KIB ** 5,
  e: 1e18,
  eb: 1e18,
  ei: KIB ** 6,
  eib: KIB ** 6,
};

const MAX_UINT64 = 2n ** 64n - 1n;

/** The parsed size expression, or undefined where Talos would refuse it. */
export function parseDiskSize(text: string): DiskSize | undefined {
  const match = /^(>=|<=|>|<|==)?\s*([0-9.,]*)(.*)$/s.exec(text.trim());
  if (match === null) return undefined;
  const number = match[2].replace(/,/g, "");
  const unit = UNITS[match[3].trim().toLowerCase()];
  if (!/^(?:[0-9]+\.?[0-9]*|\.[0-9]+)$/.test(number) || unit === undefined) return undefined;
  const product = Number.parseFloat(number) * unit;
  if (!Number.isFinite(product) || product >= 2 ** 64) return undefined;
  const bytes = BigInt(Math.trunc(product));
  if (bytes > MAX_UINT64) return undefined;
  return { op: (match[1] as DiskSize["op"] | undefined) ?? "==", bytes };
}
