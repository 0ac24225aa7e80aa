/**
 * The critical path of one `pulumi up` under the real engine (issue 16 §4: a first `up` against
 * its critical path). Each resource lasts what its step lasted in that run: from its
 * resourcePreEvent to its resOutputsEvent, timed as the events arrived (RunResult.arrivals). The
 * path follows what the engine waits for before it starts a resource's step, read from the
 * checkpoint the run wrote: the resource's `dependencies` (explicit dependsOn and the resources
 * its inputs came from), its `provider`, and for a dependency on a component every resource
 * under it (the Node SDK sends a dependsOn on a component as its custom descendants: pulumi
 * v3.248.0 sdk/nodejs/runtime/dependsOn.ts getAllTransitivelyReferencedResourceURNs). The critical
 * path is the latest finish over every chain starting at the run's start. `up` / critical path is
 * then what the program's start, the engine's scheduling and its teardown add to the work the
 * resources themselves needed.
 */
import type { Checkpoint, EngineEvent } from "./harness";

export interface StateResource {
  urn: string;
  type: string;
  custom?: boolean;
  parent?: string;
  provider?: string;
  dependencies?: string[];
}

export interface CriticalPath {
  /** The latest finish over every chain, ms from the run's start. */
  ms: number;
  /** The chain that finishes last, first resource first: each "name (ms)". */
  chain: string[];
  /** Resources of the state with a step window in the run. */
  timed: number;
}

/** URN → [start, end] in ms from the run's start, from the arrival of each step's events. */
export function stepWindows(
  events: readonly EngineEvent[],
  arrivals: readonly number[],
): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  events.forEach((e, i) => {
    const at = arrivals[i];
    const pre = e.resourcePreEvent?.metadata?.urn as string | undefined;
    if (pre && !out.has(pre)) out.set(pre, [at, at]);
    const done = e.resOutputsEvent?.metadata?.urn as string | undefined;
    if (done && out.has(done)) out.get(done)![1] = at;
  });
  return out;
}

/** A provider reference of the state ("urn::id") → its URN. */
const providerUrn = (ref: string): string => ref.slice(0, ref.lastIndexOf("::"));

export function criticalPath(
  events: readonly EngineEvent[],
  arrivals: readonly number[],
  checkpoint: Checkpoint | { latest?: { resources?: StateResource[] } },
): CriticalPath {
  const resources = (checkpoint.latest?.resources ?? []) as StateResource[];
  const windows = stepWindows(events, arrivals);
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const children = new Map<string, string[]>();
  for (const r of resources) if (r.parent) children.set(r.parent, [...(children.get(r.parent) ?? []), r.urn]);
  const duration = (urn: string): number => {
    const w = windows.get(urn);
    return w ? w[1] - w[0] : 0;
  };
  const finish = new Map<string, { at: number; via?: string }>();
  const visiting = new Set<string>();
  // When a dependency is ready: a custom resource when its own step ended, a component when every
  // resource under it has (its own step, registerResourceOutputs, included).
  const ready = (urn: string): { at: number; via?: string } => {
    const r = byUrn.get(urn);
    if (!r) return { at: 0 };
    const own = finishOf(urn);
    if (r.custom) return { at: own.at, via: urn };
    let best: { at: number; via?: string } = { at: own.at, via: urn };
    for (const c of children.get(urn) ?? []) {
      const x = ready(c);
      if (x.at > best.at) best = x;
    }
    return best;
  };
  const finishOf = (urn: string): { at: number; via?: string } => {
    const known = finish.get(urn);
    if (known) return known;
    if (visiting.has(urn)) throw new Error(`criticalPath: a dependency cycle through ${urn}`);
    visiting.add(urn);
    const r = byUrn.get(urn)!;
    const deps = [...(r.dependencies ?? []), ...(r.provider ? [providerUrn(r.provider)] : [])];
    let start = { at: 0 } as { at: number; via?: string };
    for (const d of deps) {
      const x = ready(d);
      if (x.at > start.at) start = x;
    }
    // A component's own step lasts from its registration to its outputs; its children are not its
    // dependencies, so its own duration is not on anyone's path but through them.
    const f = { at: start.at + (r.custom ? duration(urn) : 0), via: start.via };
    visiting.delete(urn);
    finish.set(urn, f);
    return f;
  };
  let end: { at: number; urn?: string } = { at: 0 };
  for (const r of resources) {
    const f = finishOf(r.urn);
    if (r.custom && f.at > end.at) end = { at: f.at, urn: r.urn };
  }
  const chain: string[] = [];
  for (let u = end.urn; u; u = finish.get(u)?.via) {
    chain.unshift(`${u.split("::").pop()} (${duration(u)} ms)`);
  }
  return { ms: end.at, chain, timed: resources.filter((r) => windows.has(r.urn)).length };
}
