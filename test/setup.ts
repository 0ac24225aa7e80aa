// Required by mocha before any test file: Pulumi runs in mock mode for the whole test process,
// so nothing a test evaluates can reach a real engine, provider, node or 1Password.
import "./helpers/processEnv";
import { resetMocks } from "./helpers/mocks";

process.env.PULUMI_TEST_MODE = "true";
void resetMocks();

// Every test bound scaled to how busy the machine is (helpers/calibration.ts, rootHooks.ts).
export { mochaHooks } from "./helpers/rootHooks";
