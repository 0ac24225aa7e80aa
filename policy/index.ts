// The home-ops policy pack: `pulumi preview --policy-pack policy` (see README, "Policy pack").
import { PolicyPack } from "@pulumi/policy";
import { homeOpsPolicies } from "./policies";
import { resetSettingsFromConfig } from "./rules/reset";
import { keepSecretsMarked } from "./values";

keepSecretsMarked();

new PolicyPack("home-ops", {
  enforcementLevel: "mandatory",
  // The engine passes the stack's config to the pack as PULUMI_CONFIG.
  policies: homeOpsPolicies(resetSettingsFromConfig(process.env.PULUMI_CONFIG)),
});
