"""Kubernetes manifests (deploy/k8s): they render, validate and fit the service.

No cluster: `kubectl kustomize` renders each overlay, kubernetes-validate checks every
object against the Kubernetes schemas, and the tests read the rendered objects for
what a schema cannot know: that probe paths, ports and environment variables exist
in this service, and that the production pod's environment starts it. `make
k8s-check` runs this file and fails when kubectl is missing.
"""

import copy
import math
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from http import HTTPStatus

import kubernetes_validate
import pytest
import yaml

from config.guard import production_problems
from tests.support import BASE_DIR
from tests.test_deploy import check_deploy

K8S_DIR = BASE_DIR / "deploy" / "k8s"
OVERLAYS = ("dev", "production")
SECRET_EXAMPLE = K8S_DIR / "overlays" / "production" / "secret.example.yaml"
# The oldest Kubernetes that docs/scaling.md supports, and the newest schemas
# kubernetes-validate ships: an API removed since would fail the second.
K8S_VERSIONS = ("1.32.0", "1.37.0")
# Names the manifests set ahead of the code: METRICS_TOKEN, the bearer token of
# /metrics, is read by the settings once that change is merged; then empty this.
PENDING_NAMES: set[str] = set()

# How config/*.py reads a variable: env.str("NAME"), required(env, "NAME"),
# env_rate("NAME", ...), _int("NAME", ...), os.environ.get("NAME").
READ_PATTERN = re.compile(
    r"""(?:\benv(?:\.\w+)?\(|required\(env,|env_rate\(|_int\(|"""
    r"""os\.environ(?:\.get)?[(\[]|os\.getenv\()\s*"([A-Z][A-Z0-9_]*)\""""
)
EXPANSION = re.compile(r"\$\(([A-Z_][A-Z0-9_]*)\)")


def names_read_by_the_service() -> set[str]:
    """Every environment variable that settings, gunicorn.py and config/ read."""
    names = {"DJANGO_SETTINGS_MODULE"}  # manage.py, wsgi.py, celery.py
    for path in sorted((BASE_DIR / "config").glob("*.py")):
        names |= set(READ_PATTERN.findall(path.read_text()))
    return names


def render(overlay: str) -> list[dict]:
    """Render an overlay with `kubectl kustomize`; return its objects."""
    kubectl = shutil.which("kubectl")
    if not kubectl:
        pytest.skip("kubectl is missing (`make k8s-check` says how to install it)")
    result = subprocess.run(
        [kubectl, "kustomize", str(K8S_DIR / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module", params=OVERLAYS)
def objects(request) -> list[dict]:
    """The rendered objects of one overlay."""
    return render(request.param)


def find(objects: list[dict], kind: str, name: str) -> dict:
    """The one object of this kind and name."""
    (found,) = [
        o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name
    ]
    return found


def pod_specs(objects: list[dict]) -> Iterator[tuple[str, dict]]:
    """The pod template of each of the service's workloads (not dev's databases)."""
    for obj in objects:
        labels = obj["metadata"].get("labels", {})
        if obj["kind"] in ("Deployment", "Job") and labels.get(
            "app.kubernetes.io/part-of"
        ):
            yield obj["metadata"]["name"], obj["spec"]["template"]["spec"]


def containers(spec: dict) -> list[dict]:
    """Init containers and containers of a pod spec."""
    return [*spec.get("initContainers", []), *spec["containers"]]


def env_names(container: dict, objects: list[dict]) -> set[str]:
    """Every variable a container gets: env, and the keys of its envFrom sources."""
    names = {item["name"] for item in container.get("env", [])}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            config = find(objects, "ConfigMap", source["configMapRef"]["name"])
            names |= set(config["data"])
        else:
            names |= secret_keys(source["secretRef"]["name"], objects)
    return names


def secret_keys(name: str, objects: list[dict]) -> set[str]:
    """The keys of a Secret: rendered (dev) or, when made apart, the example's."""
    rendered = [o for o in objects if o["kind"] == "Secret"]
    if rendered:
        return set(find(rendered, "Secret", name)["data"])
    example = yaml.safe_load(SECRET_EXAMPLE.read_text())
    assert example["metadata"]["name"] == name
    return set(example["stringData"])


def unknown_env_names(objects: list[dict]) -> set[str]:
    """Variables in the manifests that the service does not read.

    A variable used only in another's $(NAME) expansion (POD_IP, CELERY_CONCURRENCY)
    is the manifests' own and is allowed.
    """
    known = names_read_by_the_service() | PENDING_NAMES
    unknown = set()
    for _, spec in pod_specs(objects):
        for container in containers(spec):
            text = yaml.safe_dump(
                [container.get("env", []), container.get("command", [])]
            )
            helpers = set(EXPANSION.findall(text))
            unknown |= env_names(container, objects) - known - helpers
    return unknown


def env_value(container: dict, name: str) -> str:
    """The literal value of a variable set in a container's env."""
    (value,) = [e["value"] for e in container["env"] if e["name"] == name]
    return value


def api_container(objects: list[dict]) -> dict:
    """The gunicorn container of the API Deployment."""
    spec = find(objects, "Deployment", "api")["spec"]["template"]["spec"]
    (container,) = [c for c in spec["containers"] if c["name"] == "api"]
    return container


# Rendering and schemas --------------------------------------------------------


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_every_object_validates_against_the_kubernetes_schemas(objects, version):
    for obj in objects:
        kubernetes_validate.validate(obj, version, strict=True)


def test_secret_example_validates_and_is_no_part_of_any_overlay():
    example = yaml.safe_load(SECRET_EXAMPLE.read_text())

    for version in K8S_VERSIONS:
        kubernetes_validate.validate(example, version, strict=True)
    for path in K8S_DIR.rglob("kustomization.yaml"):
        kustomization = yaml.safe_load(path.read_text())
        assert SECRET_EXAMPLE.name not in kustomization.get("resources", []), path


def test_schema_validation_rejects_a_misspelt_field():
    deployment = copy.deepcopy(find(render("production"), "Deployment", "api"))
    deployment["spec"]["template"]["spec"]["terminationGracePeriod"] = 40

    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSIONS[0], strict=True)


def test_overlays_render_every_workload_the_service_needs(objects):
    kinds = {(o["kind"], o["metadata"]["name"]) for o in objects}

    assert {
        ("Deployment", "api"),
        ("Deployment", "worker"),
        ("Deployment", "beat"),
        ("Job", "api-migrate"),
        ("Service", "api"),
        ("Ingress", "api"),
        ("HorizontalPodAutoscaler", "api"),
        ("PodDisruptionBudget", "api"),
    } <= kinds


# What must exist in the service -------------------------------------------------


def test_probe_and_scrape_paths_answer_in_the_service(
    objects, api_client, db, settings
):
    container = api_container(objects)
    annotations = find(objects, "Deployment", "api")["spec"]["template"]["metadata"][
        "annotations"
    ]
    paths = {
        container[probe]["httpGet"]["path"]
        for probe in ("startupProbe", "livenessProbe", "readinessProbe")
    }

    # The scrape job sends the metrics token (docs/scaling.md), so does this client.
    settings.METRICS_TOKEN = "k8s-check-metrics-token"
    api_client.credentials(HTTP_AUTHORIZATION="Bearer k8s-check-metrics-token")

    assert paths == {"/health", "/health/ready"}
    for path in [*paths, annotations["prometheus.io/path"]]:
        response = api_client.get(path)
        assert response.status_code == HTTPStatus.OK, path


def test_ports_are_the_ones_gunicorn_listens_on(objects):
    container = api_container(objects)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    service = find(objects, "Service", "api")
    ingress = find(objects, "Ingress", "api")
    annotations = find(objects, "Deployment", "api")["spec"]["template"]["metadata"][
        "annotations"
    ]
    gunicorn_default = re.search(
        r'"GUNICORN_BIND", "[^"]*:(\d+)"', (BASE_DIR / "config/gunicorn.py").read_text()
    )

    assert gunicorn_default is not None, "config/gunicorn.py names no default bind"
    bind_port = int(env_value(container, "GUNICORN_BIND").rsplit(":", 1)[1])
    assert ports == {"http": bind_port}
    assert bind_port == int(gunicorn_default.group(1))  # the image's EXPOSE 8000 too
    assert int(annotations["prometheus.io/port"]) == bind_port
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["port"] in ports
    (service_port,) = service["spec"]["ports"]
    assert service_port["targetPort"] in ports
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            assert path["backend"]["service"]["name"] == "api"
            assert path["backend"]["service"]["port"]["name"] == service_port["name"]


def test_every_environment_variable_is_one_the_service_reads(objects):
    assert unknown_env_names(objects) == set()


def test_a_misspelt_environment_variable_is_caught(objects):
    broken = copy.deepcopy(objects)
    api_container(broken)["env"].append({"name": "WEB_CONCURENCY", "value": "2"})

    assert unknown_env_names(broken) == {"WEB_CONCURENCY"}


def test_the_service_reads_the_variables_the_manifests_rely_on():
    names = names_read_by_the_service()

    assert {
        "WEB_CONCURRENCY",
        "GUNICORN_BIND",
        "GUNICORN_GRACEFUL_TIMEOUT",
        "PROMETHEUS_MULTIPROC_DIR",
        "DJANGO_ALLOWED_HOSTS",
        "DATABASE_URL",
        "DATABASE_CONN_MAX_AGE",
        "JWT_SIGNING_KEY",
    } <= names
    assert "POD_IP" not in names


# How the pods run ----------------------------------------------------------------


def test_workers_come_from_the_cpu_limit_and_the_pod_gets_that_cpu(objects):
    container = api_container(objects)
    (concurrency,) = [e for e in container["env"] if e["name"] == "WEB_CONCURRENCY"]
    spec = find(objects, "Deployment", "api")["spec"]["template"]["spec"]

    source = concurrency["valueFrom"]["resourceFieldRef"]
    assert source == {"containerName": "api", "resource": "limits.cpu", "divisor": "1"}
    # Guaranteed (requests equal limits in every container): the CPU is the pod's.
    for each in containers(spec):
        resources = each["resources"]
        assert resources["requests"] == resources["limits"], each["name"]


def test_grace_period_outlasts_the_pause_and_gunicorns_graceful_timeout(objects):
    spec = find(objects, "Deployment", "api")["spec"]["template"]["spec"]
    container = api_container(objects)
    pause = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    graceful = int(env_value(container, "GUNICORN_GRACEFUL_TIMEOUT"))

    assert spec["terminationGracePeriodSeconds"] > pause + graceful


def test_probe_timeouts_fit_the_services_own(objects):
    container = api_container(objects)
    liveness, readiness = container["livenessProbe"], container["readinessProbe"]
    gunicorn_timeout = int(env_value(container, "GUNICORN_TIMEOUT"))

    # Readiness: PostgreSQL's connect timeout (3 s) plus Redis' (0.5 s) fit.
    assert readiness["timeoutSeconds"] > 3 + 0.5
    # Liveness restarts no sooner than gunicorn would replace a stuck worker.
    assert liveness["periodSeconds"] * liveness["failureThreshold"] >= gunicorn_timeout
    assert "startupProbe" in container


def test_probes_and_prometheus_may_ask_by_the_pods_address(objects):
    container = api_container(objects)
    (pod_ip,) = [e for e in container["env"] if e["name"] == "POD_IP"]
    names = [e["name"] for e in container["env"]]

    assert pod_ip["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
    # Defined after POD_IP, so that Kubernetes expands $(POD_IP) in it.
    assert names.index("DJANGO_ALLOWED_HOSTS") > names.index("POD_IP")
    assert env_value(container, "DJANGO_ALLOWED_HOSTS").endswith(",$(POD_IP)")


def test_every_pod_runs_non_root_on_a_read_only_root_filesystem(objects):
    for name, spec in pod_specs(objects):
        volumes = {v["name"]: v for v in spec.get("volumes", [])}

        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] == 10001, name  # the image's
        assert spec["automountServiceAccountToken"] is False, name
        for container in containers(spec):
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            for mount in container.get("volumeMounts", []):
                assert "emptyDir" in volumes[mount["name"]], name
            mounted = {m["mountPath"] for m in container.get("volumeMounts", [])}
            assert "/tmp" in mounted, name


def test_the_prometheus_folder_is_a_writable_emptydir(objects):
    container = api_container(objects)
    folder = env_value(container, "PROMETHEUS_MULTIPROC_DIR")

    assert folder in {m["mountPath"] for m in container["volumeMounts"]}


def test_beat_runs_exactly_once_and_stops_before_a_new_one_starts(objects):
    beat = find(objects, "Deployment", "beat")

    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    assert find(objects, "HorizontalPodAutoscaler", "api")["spec"]["scaleTargetRef"][
        "name"
    ] == "api"  # fmt: skip


def test_migrations_run_once_before_a_new_version_serves(objects):
    job = find(objects, "Job", "api-migrate")
    (migrate,) = job["spec"]["template"]["spec"]["containers"]
    api = find(objects, "Deployment", "api")

    script = " ".join(migrate["command"])
    assert "manage.py migrate --no-input && python manage.py ensure_superuser" in script
    assert migrate["image"] == api_container(objects)["image"]
    for name in ("api", "worker", "beat"):
        spec = find(objects, "Deployment", name)["spec"]["template"]["spec"]
        (wait,) = spec["initContainers"]
        assert "manage.py migrate --check" in " ".join(wait["command"]), name
        assert wait["image"] == migrate["image"], name
    assert "replicas" not in api["spec"]  # the HPA owns it


def test_production_runs_three_replicas_or_more_and_drains_one_at_a_time():
    objects = render("production")
    hpa = find(objects, "HorizontalPodAutoscaler", "api")
    pdb = find(objects, "PodDisruptionBudget", "api")

    assert hpa["spec"]["minReplicas"] >= 3
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    assert pdb["spec"]["maxUnavailable"] == 1
    assert not [o for o in objects if o["kind"] == "Secret"]  # made apart
    assert find(objects, "ConfigMap", config_name(objects))["data"]["DJANGO_ENV"] == (
        "production"
    )


def config_name(objects: list[dict]) -> str:
    """The hashed name of the api-config ConfigMap."""
    (config,) = [o for o in objects if o["kind"] == "ConfigMap"]
    return config["metadata"]["name"]


def test_secret_example_holds_placeholders_that_production_refuses():
    data = yaml.safe_load(SECRET_EXAMPLE.read_text())["stringData"]

    assert {"DJANGO_SECRET_KEY", "JWT_SIGNING_KEY", "DATABASE_URL"} <= set(data)
    assert "METRICS_TOKEN" in data
    for key, value in data.items():
        assert not value or "REPLACE" in value or "example" in value, key
    assert production_problems(
        debug=False,
        secret_key=data["DJANGO_SECRET_KEY"],
        jwt_signing_key=data["JWT_SIGNING_KEY"],
        allowed_hosts=["api.example.org"],
        email_backend="django.core.mail.backends.smtp.EmailBackend",
        allow_console_email=False,
        metrics_token=data["METRICS_TOKEN"],
    )


# The production pod's environment, as the kubelet builds it ----------------------


def secret_with_real_values() -> dict[str, str]:
    """The example Secret, its placeholders replaced by random values."""
    data = yaml.safe_load(SECRET_EXAMPLE.read_text())["stringData"]
    return {
        key: re.sub(r"REPLACE[\w-]*", lambda _: secrets.token_urlsafe(50), value)
        for key, value in data.items()
    }


def kubelet_env(container: dict, objects: list[dict], pod_ip: str) -> dict[str, str]:
    """A container's environment: envFrom first, then env in order, $(NAME) expanded."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env |= find(objects, "ConfigMap", source["configMapRef"]["name"])["data"]
        else:
            env |= secret_with_real_values()
    for item in container.get("env", []):
        if "value" in item:
            value = EXPANSION.sub(lambda m: env.get(m[1], m[0]), item["value"])
        elif "fieldRef" in item["valueFrom"]:
            assert item["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
            value = pod_ip
        else:
            source = item["valueFrom"]["resourceFieldRef"]
            assert source["resource"] == "limits.cpu"
            value = str(math.ceil(float(container["resources"]["limits"]["cpu"])))
        env[item["name"]] = value
    return env


@pytest.fixture(scope="module")
def production_api_env() -> dict[str, str]:
    """The API container's environment in the production overlay, on 10.0.0.7."""
    objects = render("production")
    return kubelet_env(api_container(objects), objects, pod_ip="10.0.0.7")


def test_production_pods_get_two_workers_and_allow_their_own_address(
    production_api_env,
):
    assert production_api_env["WEB_CONCURRENCY"] == "2"
    assert production_api_env["DJANGO_ALLOWED_HOSTS"] == "api.example.org,10.0.0.7"
    assert production_api_env["DJANGO_ENV"] == "production"


def test_production_pods_environment_passes_check_deploy(production_api_env):
    env = {
        **{
            k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "JWT_"))
        },
        **production_api_env,
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }

    assert check_deploy(env) == []


def test_production_pods_environment_loads_gunicorns_config_and_the_app(
    production_api_env,
):
    env = {
        **{
            k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "JWT_"))
        },
        **production_api_env,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PROMETHEUS_MULTIPROC_DIR": "",  # /run/prometheus exists only in the pod
    }

    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--check-config"]
        + ["-c", "config/gunicorn.py", "config.wsgi"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
