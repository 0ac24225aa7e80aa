import { strict as assert } from "assert";
import { Deployment } from "kubernetes-models/apps/v1";
import { Namespace, Secret, Service } from "kubernetes-models/v1";
import {
  CONNECT_CREDENTIALS_PATH,
  connectCredentialsSecret,
  connectDeployment,
  connectNamespace,
  connectServices,
  connectTokenSecret,
  decodeConnectCredentials,
} from "../k8s/connect";
import { CONNECT } from "../k8s/names";
import { homeOpsConfig } from "./helpers/stackConfigFixture";

/** A made-up credentials file with the shape of a real Connect 1password-credentials.json. */
function fakeCredentials(version: unknown = "2"): Record<string, unknown> {
  return {
    verifier: { salt: "Qm9ndXNTYWx0VmFsdWUxMjM0NQ", localHash: "ZmFrZUxvY2FsSGFzaFZhbHVlRm9yVGVzdHNPbmx5MDE" },
    encCredentials: {
      kid: "localauthv2keykid",
      enc: "A256GCM",
      cty: "b5+jwk+json",
      iv: "bm90LWEtcmVhbC1pdg",
      data: "VGhpcyBpcyBub3QgYSByZWFsIGVuY3J5cHRlZCBwYXlsb2FkOyBpdCBvbmx5IGhhcyB0aGUgc2hhcGUgb2Ygb25lLg",
    },
    version,
    deviceUuid: "q7zx3pcm5fvn2kdh4wtyb6rjsa",
    uniqueKey: {
      alg: "A256GCM",
      ext: true,
      k: "ZmFrZS1zeW1tZXRyaWMta2V5LWZvci10ZXN0cy1vbmx5LTEyMzQ1Ng",
      key_ops: ["encrypt", "decrypt"],
      kty: "oct",
      kid: "fakeuniquekeykid01",
    },
  };
}

const credentialsObject = fakeCredentials();
const rawJson = JSON.stringify(credentialsObject, null, 2);
const compactJson = JSON.stringify(credentialsObject);
const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

/** Every key name of the credentials format: structure, not secret (messages may say "credentials"). */
function keyNames(value: unknown): string[] {
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, v]) => (Array.isArray(value) ? keyNames(v) : [k, ...keyNames(v)]));
}
const FORMAT_KEY_NAMES = keyNames(credentialsObject);

/**
 * Fails if `message` contains any 8-character substring of `input` (so no longer one either),
 * except windows that lie inside one of the format's key names (e.g. "Credenti" of "encCredentials").
 */
function assertLeaksNothing(message: string, input: string): void {
  for (let i = 0; i + 8 <= input.length; i++) {
    const window = input.slice(i, i + 8);
    if (FORMAT_KEY_NAMES.some((name) => name.includes(window))) continue;
    assert.ok(!message.includes(window), `error message leaks input substring ${JSON.stringify(window)}: ${message}`);
  }
}

function decodeError(raw: string): Error {
  try {
    decodeConnectCredentials(raw);
  } catch (error) {
    assert.ok(error instanceof Error);
    return error;
  }
  assert.fail("expected decodeConnectCredentials to throw");
}

describe("k8s/connect: decodeConnectCredentials", () => {
  const accepted: Array<[string, string]> = [
    ["raw JSON (pretty)", rawJson],
    ["raw JSON with surrounding whitespace", `\n  ${rawJson}\n\n`],
    ["base64(JSON)", b64(rawJson)],
    ["base64(JSON) with line breaks every 76 characters", b64(rawJson).replace(/(.{76})/g, "$1\n")],
    ["base64(JSON) with a trailing newline (as `base64` prints it)", `${b64(rawJson)}\n`],
    ["URL-encoded base64(JSON)", encodeURIComponent(b64(rawJson))],
    ["base64url(JSON) without padding", Buffer.from(rawJson).toString("base64url")],
    ["base64(base64(JSON)) — connect chart ≤2.2 'double base64'", b64(b64(rawJson))],
    ["URL-encoded base64(base64(JSON))", encodeURIComponent(b64(b64(rawJson)))],
  ];
  for (const [label, input] of accepted) {
    it(`accepts ${label} and returns the compact JSON`, () => {
      assert.equal(decodeConnectCredentials(input), compactJson);
    });
  }

  it("the inputs really are different encodings", () => {
    assert.equal(new Set(accepted.map(([, input]) => input)).size, accepted.length);
    assert.match(encodeURIComponent(b64(rawJson)), /%3D|%2B|%2F/, "the URL-encoded case contains escapes");
  });

  it("rejects a version 1 credentials file with an actionable message", () => {
    const v1 = JSON.stringify(fakeCredentials("1"));
    const error = decodeError(b64(v1));
    assert.match(error.message, /version "1"/);
    assert.match(error.message, /version "2"/);
    assertLeaksNothing(error.message, v1);
  });

  it('rejects a numeric version 2 (files carry the string "2")', () => {
    assert.match(decodeError(JSON.stringify(fakeCredentials(2))).message, /version of type number/);
  });

  it("rejects JSON that is not a credentials file (e.g. the token by mistake), naming only missing keys", () => {
    const notCredentials = JSON.stringify({ token: "eyJhbGciOiJFUzI1NiIsImtpZCI6ImZha2UifQ.fake.token" });
    const error = decodeError(notCredentials);
    assert.match(error.message, /lacks "verifier", "encCredentials", "version", "deviceUuid", "uniqueKey"/);
    assertLeaksNothing(error.message, notCredentials);
  });

  const garbage: Array<[string, string]> = [
    ["empty", "   \n"],
    ["plain words", "this is definitely not a usable secret value"],
    [
      "base64 of binary noise",
      Buffer.from(Array.from({ length: 96 }, (_, i) => (i * 37 + 11) % 256)).toString("base64"),
    ],
    ["truncated JSON", rawJson.slice(0, rawJson.length / 2)],
    ["base64 of truncated JSON", b64(rawJson.slice(0, 200))],
    ["malformed URL encoding", `${b64(rawJson).slice(0, 40)}%E0%A4%A`],
    ["a JSON array", JSON.stringify([credentialsObject])],
    ["five layers of base64", b64(b64(b64(b64(b64(rawJson)))))],
  ];
  for (const [label, input] of garbage) {
    it(`rejects ${label} without echoing any of it`, () => {
      const error = decodeError(input);
      assert.match(error.message, /1Password Connect credentials/);
      assertLeaksNothing(error.message, input);
      // Nor any part of the decoded secret underneath.
      assertLeaksNothing(error.message, compactJson);
      assertLeaksNothing(error.message, rawJson);
    });
  }

  it("the leak check itself can fail", () => {
    const secretValue = (credentialsObject.encCredentials as Record<string, string>).data;
    assert.throws(() => assertLeaksNothing(`bad: ${secretValue.slice(10, 18)}`, rawJson), /leaks/);
    assert.throws(() => assertLeaksNothing(`bad: ${b64(rawJson).slice(30, 38)}`, b64(rawJson)), /leaks/);
  });
});

describe("k8s/connect: objects", () => {
  const cfg = homeOpsConfig();
  const deployment = connectDeployment(cfg);
  const [apiService, syncService] = connectServices(cfg);
  const podSpec = (deployment.spec as any).template.spec;
  const containers: any[] = podSpec.containers;

  it("all validate with kubernetes-models", () => {
    new Namespace(connectNamespace() as any).validate();
    new Secret(connectCredentialsSecret(compactJson) as any).validate();
    new Secret(connectTokenSecret("fake-token") as any).validate();
    new Deployment(deployment as any).validate();
    new Service(apiService as any).validate();
    new Service(syncService as any).validate();
  });

  it("the model validation can fail", () => {
    const broken = JSON.parse(JSON.stringify(deployment));
    delete broken.spec.selector;
    assert.throws(() => new Deployment(broken).validate());
    const badPort = JSON.parse(JSON.stringify(apiService));
    badPort.spec.ports[0].port = "eighty";
    assert.throws(() => new Service(badPort).validate());
  });

  it("uses the hand-off names exactly", () => {
    assert.deepEqual(connectNamespace().metadata.name, "onepassword-connect");
    assert.deepEqual(
      [connectCredentialsSecret("{}"), connectTokenSecret("t")].map((s) => [s.metadata.namespace, s.metadata.name]),
      [
        ["onepassword-connect", "onepassword-connect-credentials"],
        ["onepassword-connect", "onepassword-connect-token"],
      ],
    );
    assert.deepEqual(
      [deployment.metadata.namespace, deployment.metadata.name],
      ["onepassword-connect", "onepassword-connect"],
    );
    assert.deepEqual(
      [apiService, syncService].map((s) => [s.metadata.namespace, s.metadata.name, (s.spec as any).ports[0].port]),
      [
        ["onepassword-connect", "onepassword-connect", 8080],
        ["onepassword-connect", "onepassword-connect-sync", 8081],
      ],
    );
  });

  it("the Deployment selector is exactly app: onepassword-connect and matches the pod and Service labels", () => {
    const selector = (deployment.spec as any).selector;
    assert.deepEqual(selector, { matchLabels: { app: "onepassword-connect" } });
    const podLabels = (deployment.spec as any).template.metadata.labels;
    assert.equal(podLabels.app, "onepassword-connect");
    for (const service of [apiService, syncService]) {
      assert.deepEqual((service.spec as any).selector, { app: "onepassword-connect" });
    }
  });

  it("stores the credentials file as raw JSON under 1password-credentials.json and the token under token", () => {
    const credentials = connectCredentialsSecret(compactJson);
    assert.equal(credentials.type, "Opaque");
    assert.deepEqual(credentials.stringData, { "1password-credentials.json": compactJson });
    assert.deepEqual(connectTokenSecret("fake-token").stringData, { token: "fake-token" });
  });

  it("runs connect-api on 8080 and connect-sync on 8081 with the configured Connect version", () => {
    assert.deepEqual(
      containers.map((c) => [c.name, c.image, c.ports[0].containerPort]),
      [
        ["connect-api", "1password/connect-api:1.8.1", 8080],
        ["connect-sync", "1password/connect-sync:1.8.1", 8081],
      ],
    );
  });

  it("wires api and sync together over the loopback bus and points OP_SESSION at the mounted file", () => {
    const env = (c: any) => Object.fromEntries(c.env.map((e: any) => [e.name, e.value]));
    const [api, sync] = containers.map(env);
    assert.equal(api.OP_HTTP_PORT, "8080");
    assert.equal(sync.OP_HTTP_PORT, "8081");
    assert.equal(api.OP_BUS_PEERS, `localhost:${sync.OP_BUS_PORT}`);
    assert.equal(sync.OP_BUS_PEERS, `localhost:${api.OP_BUS_PORT}`);
    assert.notEqual(api.OP_BUS_PORT, sync.OP_BUS_PORT);
    for (const e of [api, sync]) assert.equal(e.OP_SESSION, "/home/opuser/.op/1password-credentials.json");
    assert.equal(CONNECT_CREDENTIALS_PATH, "/home/opuser/.op/1password-credentials.json");
  });

  it("mounts the shared data volume and the credentials file (read-only) in both containers", () => {
    const volumes = Object.fromEntries(podSpec.volumes.map((v: any) => [v.name, v]));
    for (const c of containers) {
      const mounts = Object.fromEntries(c.volumeMounts.map((m: any) => [m.mountPath, m]));
      assert.ok(volumes[mounts["/home/opuser/.op/data"].name].emptyDir, "data is an emptyDir");
      const cred = mounts[CONNECT_CREDENTIALS_PATH];
      assert.equal(cred.readOnly, true);
      assert.equal(cred.subPath, CONNECT.credentialsSecretKey);
      assert.equal(volumes[cred.name].secret.secretName, "onepassword-connect-credentials");
    }
  });

  it("probes /health (readiness) and /heartbeat (liveness) on each container's own port", () => {
    for (const c of containers) {
      const port = c.ports[0].containerPort;
      assert.deepEqual([c.readinessProbe.httpGet.path, c.readinessProbe.httpGet.port], ["/health", port]);
      assert.deepEqual([c.livenessProbe.httpGet.path, c.livenessProbe.httpGet.port], ["/heartbeat", port]);
    }
  });

  it("meets Pod Security Standard 'restricted' (and the namespace enforces it)", () => {
    assert.equal(connectNamespace().metadata.labels?.["pod-security.kubernetes.io/enforce"], "restricted");
    assert.equal(podSpec.securityContext.runAsNonRoot, true);
    assert.equal(podSpec.securityContext.runAsUser, 999);
    assert.equal(podSpec.securityContext.seccompProfile.type, "RuntimeDefault");
    assert.equal(podSpec.hostNetwork ?? false, false);
    assert.equal(podSpec.hostPID ?? false, false);
    assert.equal(podSpec.hostIPC ?? false, false);
    const allowedVolumeTypes = [
      "configMap",
      "csi",
      "downwardAPI",
      "emptyDir",
      "ephemeral",
      "persistentVolumeClaim",
      "projected",
      "secret",
    ];
    for (const volume of podSpec.volumes) {
      const types = Object.keys(volume).filter((k) => k !== "name");
      assert.ok(
        types.every((t) => allowedVolumeTypes.includes(t)),
        `volume ${volume.name}: ${types}`,
      );
    }
    for (const c of containers) {
      const sc = c.securityContext;
      assert.equal(sc.allowPrivilegeEscalation, false, c.name);
      assert.equal(sc.runAsNonRoot, true, c.name);
      assert.equal(sc.runAsUser, 999, c.name);
      assert.equal(sc.readOnlyRootFilesystem, true, c.name);
      assert.deepEqual(sc.capabilities, { drop: ["ALL"] }, c.name);
      assert.equal(sc.seccompProfile.type, "RuntimeDefault", c.name);
      assert.equal(sc.privileged ?? false, false, c.name);
      assert.equal(
        c.ports.some((p: any) => p.hostPort !== undefined),
        false,
        c.name,
      );
    }
  });

  it("is deterministic", () => {
    assert.equal(JSON.stringify(connectDeployment(homeOpsConfig())), JSON.stringify(deployment));
    assert.equal(JSON.stringify(connectServices(homeOpsConfig())), JSON.stringify([apiService, syncService]));
  });
});
