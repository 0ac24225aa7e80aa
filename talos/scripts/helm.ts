/** Before a Helm release is first created: is its name already in use? */
import { PRELUDE, shellCommand } from "../shell";
import { kubectl } from "../talosctl";
import { FETCH_KUBECONFIG, K, WRITE_TALOSCONFIG } from "./common";

/**
 * Before a Helm release is first created (this step runs once, when it is created with the
 * release): does a release of that name already exist? Helm refuses to install over a name in use
 * (helm pkg/action/install.go availableName), which is what a lost state or a destroy that
 * retained the release leaves behind. Listed in operations.adoptHelmReleases (run-time settings),
 * the program adopts it instead (the `import` resource option); otherwise this step fails naming
 * the one command that does that. stdin: the bundle (stable, so this never re-runs by itself);
 * the kubeconfig is fetched from a control plane.
 */
export const helmAdoption = `${PRELUDE}
${WRITE_TALOSCONFIG}${FETCH_KUBECONFIG}deadline=$(deadline_in "$TIMEOUT_API_READY")
until fetch_kubeconfig && releases=$(${shellCommand(K, kubectl.helmReleaseSecrets())} 2>"$WORK/get.err"); do
  past "$deadline" && fail "cannot tell whether Helm release $RELEASE_NAMESPACE/$RELEASE_NAME exists: $(last_line "$WORK/get.err" || last_line "$WORK/kubeconfig.err")"
  sleep "$POLL_SECONDS"
done
if [ -z "$releases" ]; then
  echo "Helm release $RELEASE_NAMESPACE/$RELEASE_NAME is new"
  exit 0
fi
case " $ADOPT_HELM_RELEASES " in
  *" $RELEASE_STEP "*)
    echo "adopting the existing Helm release $RELEASE_NAMESPACE/$RELEASE_NAME"
    exit 0 ;;
esac
set -- $ADOPT_HELM_RELEASES
fail "Helm release $RELEASE_NAMESPACE/$RELEASE_NAME already exists in the cluster, but this stack has no record of it (its state was lost, or a destroy retained it), and Helm cannot install over it. Adopt it with: pulumi config set --path 'homeops:operations.adoptHelmReleases[$#]' $RELEASE_STEP && pulumi up"
`;
