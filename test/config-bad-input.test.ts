import { strict as assert } from "assert";
import { parseStackConfig } from "../config/index";
import { BAD_INPUTS, FLUX_FLOOR_WARNING_PREFIX, HOME_OPS_RAW_CONFIG, problemsOf } from "./helpers/badInputs";

describe("parseStackConfig rejects invalid stack config", () => {
  it("the catalogue's base config is valid (so every rejection below is caused by its mutation)", () => {
    const { warnings } = parseStackConfig(HOME_OPS_RAW_CONFIG, "home-ops");
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.ok(warnings[0].startsWith(FLUX_FLOOR_WARNING_PREFIX), warnings[0]);
  });

  it("the catalogue has at least 30 distinct entries", () => {
    assert.ok(BAD_INPUTS.length >= 30, `only ${BAD_INPUTS.length} entries`);
    assert.equal(new Set(BAD_INPUTS.map((input) => input.name)).size, BAD_INPUTS.length, "names must be unique");
    const distinctConfigs = new Set(BAD_INPUTS.map((input) => JSON.stringify(input.raw)));
    assert.equal(distinctConfigs.size, BAD_INPUTS.length, "every entry must be a different config");
  });

  for (const input of BAD_INPUTS) {
    it(`${input.name} → ${input.path}`, () => {
      const problems = problemsOf(input.raw);
      // The message starts with the exact key path (not a longer path that merely begins with it).
      const naming = problems.filter((p) => p.startsWith(`${input.path} `));
      assert.ok(naming.length > 0, `no problem names ${input.path}; got:\n${problems.join("\n")}`);
      if (input.value !== undefined) {
        const shown = JSON.stringify(input.value);
        assert.ok(
          naming.some((p) => p.includes(`= ${shown}:`)),
          `no problem at ${input.path} shows the value ${shown}; got:\n${naming.join("\n")}`,
        );
      }
      if (input.hint !== undefined) {
        const hint = input.hint;
        assert.ok(
          naming.some((p) => p.includes(hint)),
          `no problem at ${input.path} mentions ${JSON.stringify(hint)}; got:\n${naming.join("\n")}`,
        );
      }
    });
  }
});
