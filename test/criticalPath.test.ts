import { strict as assert } from "assert";
import { criticalPath, StateResource } from "./e2e/criticalPath";

const U = (name: string, type = "command:local:Command") => `urn:pulumi:e2e::homeops::${type}::${name}`;
const stack = U("homeops-e2e", "pulumi:pulumi:Stack");
const comp = (name: string): StateResource => ({
  urn: U(name, "homeops:x:Phase"),
  type: "homeops:x:Phase",
  parent: stack,
});
const res = (name: string, extra: Partial<StateResource> = {}): StateResource => ({
  urn: U(name),
  type: "command:local:Command",
  custom: true,
  parent: stack,
  ...extra,
});

/** Engine events for steps [urn, start ms, end ms]: a pre event and an outputs event each, in arrival order. */
function run(steps: [string, number, number][]) {
  const list = steps.flatMap(([urn, a, b]) => [
    { at: a, e: { resourcePreEvent: { metadata: { urn } } } },
    { at: b, e: { resOutputsEvent: { metadata: { urn } } } },
  ]);
  list.sort((x, y) => x.at - y.at);
  return { events: list.map((x) => x.e), arrivals: list.map((x) => x.at) };
}

describe("critical path of a real-engine run (test/e2e/criticalPath.ts)", () => {
  it("follows dependencies, providers and a component's children, each step lasting what it lasted", () => {
    const provider = res("k8s", { type: "pulumi:providers:kubernetes" });
    provider.urn = U("k8s", "pulumi:providers:kubernetes");
    const phase = comp("cluster");
    const a = res("a");
    const b = res("b", { dependencies: [a.urn], parent: phase.urn });
    const c = res("c", { dependencies: [a.urn], parent: phase.urn });
    // d depends on the component: it waits for b and c (the later one, c).
    const d = res("d", { dependencies: [phase.urn], provider: `${provider.urn}::0123` });
    const loose = res("loose");
    const { events, arrivals } = run([
      [a.urn, 100, 1100], // 1000
      [b.urn, 1150, 1650], // 500
      [c.urn, 1150, 3150], // 2000
      [provider.urn, 50, 4050], // 4000: the provider is the later of d's two dependencies
      [d.urn, 4100, 4400], // 300
      [loose.urn, 200, 300],
    ]);
    const resources = [{ urn: stack, type: "pulumi:pulumi:Stack" }, phase, provider, a, b, c, d, loose];
    const cp = criticalPath(events, arrivals, { latest: { resources } });
    // via the provider: 4000 + 300; via the component: 1000 + 2000 + 300.
    assert.equal(cp.ms, 4300);
    assert.deepEqual(cp.chain, ["k8s (4000 ms)", "d (300 ms)"]);
    assert.equal(cp.timed, 6);

    // A slower c puts the component's chain on the path.
    const slow = run([
      [a.urn, 100, 1100],
      [b.urn, 1150, 1650],
      [c.urn, 1150, 5150], // 4000
      [provider.urn, 50, 1050],
      [d.urn, 5200, 5500],
    ]);
    const cp2 = criticalPath(slow.events, slow.arrivals, { latest: { resources } });
    assert.equal(cp2.ms, 1000 + 4000 + 300);
    assert.deepEqual(cp2.chain, ["a (1000 ms)", "c (4000 ms)", "d (300 ms)"]);
  });

  it("counts no gap between steps and no time before the first one: what the engine adds is left out", () => {
    const a = res("a");
    const b = res("b", { dependencies: [a.urn] });
    const { events, arrivals } = run([
      [a.urn, 3000, 4000],
      [b.urn, 9000, 9500],
    ]);
    assert.equal(criticalPath(events, arrivals, { latest: { resources: [a, b] } }).ms, 1500);
  });

  it("refuses a dependency cycle instead of looping", () => {
    const a = res("a", { dependencies: [U("b")] });
    const b = res("b", { dependencies: [a.urn] });
    assert.throws(() => criticalPath([], [], { latest: { resources: [a, b] } }), /cycle/);
  });
});
