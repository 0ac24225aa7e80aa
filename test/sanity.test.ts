import { strict as assert } from "assert";
import { PHASES } from "../config/types";
describe("sanity", () => {
  it("phases in order", () => assert.deepEqual([...PHASES], ["talos", "cluster", "cni", "secrets", "gitops"]));
});
