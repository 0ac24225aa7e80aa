/**
 * Property: whatever a stack file says, parseStackConfig either reports problems (ConfigError,
 * each line naming a key) or returns a config from which every node's Talos documents validate
 * against the Talos JSON Schema of the config's minor; and the generated JSON Schema and Pulumi's
 * declarations never refuse a config the program accepts. Inputs are random mutations of the real
 * Pulumi.home-ops.yaml; the seed is fixed, so a failure reproduces.
 */
import { strict as assert } from "assert";
import fc from "fast-check";
import { parseStackConfig } from "../config/index";
import { projectConfigDeclarations } from "../config/stackFile";
import { ConfigError, RawConfig, StackConfig } from "../config/types";
import { renderNodeDocuments } from "../talos/machineconfig";
import { mutatedHomeOpsConfig, mutationArbitrary } from "./helpers/configMutations";
import { pulumiConfigRefusal, stackFileOf, stackFileSchemaErrors } from "./helpers/stackFileSchema";
import { validateTalosDocument, validateV1Alpha1Patch } from "./helpers/talosSchema";

const SEED = 20261202;
const RUNS = 400;

/** Text of zod's own default messages: a problem showing one lacks our explanation and fix. */
const LIBRARY_DEFAULT_MESSAGE =
  /Invalid input|Too (small|big)|Invalid key in record|Unrecognized key|Invalid (option|element)/;
/** Key path first, then the value and the fix, the fix for a missing key, or the key's verdict. */
const PROBLEM_SHAPE =
  /^(homeops:|stack ).*?( = .+: .+| is required but missing: .+| is not a known key.*; allowed keys here: .+| is a secret but is stored in plain text: .+)$/s;

function outcome(raw: RawConfig): { config: StackConfig } | { problems: readonly string[] } {
  try {
    return { config: parseStackConfig(raw, "home-ops").config };
  } catch (error) {
    if (error instanceof ConfigError) return { problems: error.problems };
    throw error; // anything else is a crash of the parser: the property fails
  }
}

describe("config: property test over mutations of the real stack file (fast-check)", () => {
  it(`never crashes, reports well-formed problems, and every accepted config renders valid Talos documents (${RUNS} runs, seed ${SEED})`, () => {
    const declarations = projectConfigDeclarations();
    const seen = { accepted: 0, rejected: 0, minors: new Set<string>() };
    fc.assert(
      fc.property(fc.array(mutationArbitrary, { minLength: 1, maxLength: 3 }), (mutations) => {
        const raw = mutatedHomeOpsConfig(mutations);
        const result = outcome(raw);
        if ("problems" in result) {
          seen.rejected++;
          assert.ok(result.problems.length > 0);
          for (const problem of result.problems) {
            assert.match(problem, PROBLEM_SHAPE);
            assert.doesNotMatch(problem, LIBRARY_DEFAULT_MESSAGE);
          }
          return;
        }
        seen.accepted++;
        const { config } = result;
        seen.minors.add(config.talos.minor);
        assert.deepEqual(stackFileSchemaErrors(stackFileOf(raw)), [], "the JSON Schema refuses an accepted config");
        assert.equal(pulumiConfigRefusal(declarations, stackFileOf(raw).config), undefined);
        for (const node of config.nodes) {
          const [patch, ...documents] = renderNodeDocuments(config, node);
          // The pinned contract (v1.10) keeps its legacy fields on a v1.11 node: checked honestly.
          assert.deepEqual(validateV1Alpha1Patch(config.talos.minor, patch).errors, [], `${node.hostname}`);
          for (const document of documents) {
            assert.deepEqual(validateTalosDocument(config.talos.minor, document), [], `${node.hostname}`);
          }
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
    // Both sides were exercised: the property can fail on either.
    assert.ok(seen.accepted >= RUNS / 10, `only ${seen.accepted} accepted configs`);
    assert.ok(seen.rejected >= RUNS / 10, `only ${seen.rejected} rejected configs`);
    assert.deepEqual([...seen.minors].sort(), ["v1.10", "v1.11"]);
  });
});
