/** talos phase: the Image Factory schematic. */
import { PRELUDE } from "../shell";

/**
 * talos phase: register the schematic with Image Factory (content-addressed, so idempotent) and
 * check that the factory's ID is the one computed offline, which every installer image names. A
 * node told to install an image of an unregistered or different schematic would fail to pull it.
 */
export const registerSchematic = `${PRELUDE}
printf '%s' "$SCHEMATIC_YAML" > "$WORK/schematic.yaml"
deadline=$(deadline_in "$TIMEOUT_FACTORY")
until run "$CURL" -fsS -X POST --data-binary "@$WORK/schematic.yaml" -H 'Content-Type: application/yaml' "$IMAGE_FACTORY/schematics" >"$WORK/response.json" 2>"$WORK/curl.err"; do
  past "$deadline" && fail "Image Factory at $IMAGE_FACTORY did not accept the schematic within $TIMEOUT_FACTORY s: $(last_line "$WORK/curl.err")"
  sleep "$POLL_SECONDS"
done
id=$(sed -n 's/.*"id"[[:space:]]*:[[:space:]]*"\\([0-9a-f]*\\)".*/\\1/p' "$WORK/response.json")
[ "$id" = "$SCHEMATIC_ID" ] || fail "Image Factory registered the schematic as '$id' but the installer image names $SCHEMATIC_ID; refusing to install an image of another schematic"
echo "schematic $SCHEMATIC_ID registered at $IMAGE_FACTORY"
`;
