"""The Docker deployment checked against the code, so the two cannot drift apart.

`deploy/docker-compose.yml` must run exactly the built services (`DEFINITIONS`), pass them
only variables the code reads (`Settings` fields, and what nlu reads from the environment
itself), wait for healthy servers and a finished migration, keep RabbitMQ and PostgreSQL
private, never use RabbitMQ's `guest`, and let the consumers scale. `.env.example` must list
and explain every variable; the `Dockerfile` must copy every package the image installs.
"""

from __future__ import annotations

import ast
import json
import re
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from libs.settings import Settings
from receptionist.bootstrap import DEFINITIONS

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "docker-compose.yml"
PORTS_OVERRIDE = ROOT / "deploy" / "docker-compose.ports.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
CODE = ("libs", "services", "receptionist")

SERVERS = ("rabbitmq", "postgres")
MIGRATE = "migrate"
SCALED = ("nlu", "fsm", "payments")
OPS_URL = "http://127.0.0.1:9100/readyz"
SECRET = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY")
# `${VAR...}` or `$VAR`, not the `$$` escape that reaches the container as a literal `$`.
REFERENCE = re.compile(r"(?<!\$)\$(?:\{([A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*))")
ENV_LINE = re.compile(r"^([A-Z][A-Z0-9_]*)=(.*)$")


# -- what the code reads -------------------------------------------------------------------------


def settings_env_names() -> set[str]:
    """Each `Settings` field's environment variable (pydantic-settings: prefix + field name,
    or its alias, matched case-insensitively; written upper-case)."""
    prefix = str(Settings.model_config.get("env_prefix") or "")
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias if isinstance(field.validation_alias, str) else None
        names.add((alias or prefix + name).upper())
    return names


def _is_environ(node: ast.expr) -> bool:
    """`os.environ`, `environ`, or a mapping named `env` standing for it."""
    return ((isinstance(node, ast.Name) and node.id in ("environ", "env"))
            or (isinstance(node, ast.Attribute) and node.attr == "environ"))


def _lookup_key(node: ast.AST) -> ast.expr | None:
    """The key of `env.get(KEY)`, `env[KEY]`, `os.getenv(KEY)`, or None."""
    if isinstance(node, ast.Subscript) and _is_environ(node.value):
        return node.slice
    if isinstance(node, ast.Call) and node.args:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "getenv":
            return node.args[0]
        if isinstance(func, ast.Name) and func.id == "getenv":
            return node.args[0]
        if (isinstance(func, ast.Attribute) and func.attr in ("get", "pop", "setdefault")
                and _is_environ(func.value)):
            return node.args[0]
    return None


def _constant(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def direct_env_reads() -> set[str]:
    """Variables the code reads from the environment itself, not through `Settings` (the
    GROQ_* settings of nlu): constant keys of environment lookups, and of calls to helpers
    that look their first argument up (`num("GROQ_TIMEOUT_S", 3.0)`)."""
    names: set[str] = set()
    for package in CODE:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            helpers = set()
            for fn in ast.walk(tree):
                if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) and fn.args.args:
                    first = fn.args.args[0].arg
                    if any(isinstance(key, ast.Name) and key.id == first
                           for key in map(_lookup_key, ast.walk(fn))):
                        helpers.add(fn.name)
            for node in ast.walk(tree):
                key = _constant(_lookup_key(node))
                if (key is None and isinstance(node, ast.Call) and node.args
                        and isinstance(node.func, ast.Name) and node.func.id in helpers):
                    key = _constant(node.args[0])
                if key is not None:
                    names.add(key)
    return names


# -- what the deployment files say ---------------------------------------------------------------


@cache
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose()["services"]
    return found


def built() -> dict[str, dict[str, Any]]:
    """The containers running our image (everything but the two servers)."""
    return {name: spec for name, spec in services().items() if "build" in spec}


def long_running() -> dict[str, dict[str, Any]]:
    return {name: spec for name, spec in built().items() if name != MIGRATE}


def environment(spec: dict[str, Any]) -> dict[str, str]:
    env = spec.get("environment") or {}
    if isinstance(env, list):
        return dict(item.partition("=")[::2] for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings(k)
            yield from strings(v)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def references(document: Any) -> set[str]:
    """Every variable Compose substitutes into the document."""
    return {braced or bare for text in strings(document)
            for braced, bare in REFERENCE.findall(text)}


@cache
def env_example() -> dict[str, tuple[str, bool]]:
    """.env.example: name -> (value, whether a comment line is right above it)."""
    entries: dict[str, tuple[str, bool]] = {}
    previous = ""
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = ENV_LINE.match(line)
        if match:
            name, value = match.groups()
            assert name not in entries, f".env.example sets {name} twice"
            entries[name] = (value, previous.startswith("#"))
        previous = line.strip()
    return entries


def compose_level() -> set[str]:
    """Variables only Compose reads (passwords, database name...), not the code."""
    return references(compose()) - settings_env_names() - direct_env_reads()


# -- the tests -----------------------------------------------------------------------------------


def test_the_code_reads_what_this_test_assumes() -> None:
    """Guards the scans above: if they found nothing, every check below would pass vacuously."""
    assert {"DATABASE_URL", "AMQP_URL", "RETENTION_DAYS"} <= settings_env_names()
    assert {"GROQ_API_KEY", "GROQ_MODEL", "GROQ_TIMEOUT_S"} <= direct_env_reads()
    assert {"RABBITMQ_PASSWORD", "POSTGRES_PASSWORD"} <= compose_level()


def test_one_container_per_built_service() -> None:
    names = {d.name for d in DEFINITIONS}
    assert set(long_running()) == names, "one container per receptionist.bootstrap.DEFINITIONS"
    for name in names:
        assert long_running()[name].get("command") == ["python", "-m", f"services.{name}"]
    unbuilt = {p.name for p in (ROOT / "services").iterdir()
               if (p / "__init__.py").is_file()} - names
    assert not unbuilt & set(services()), "a container for a service that is not built"
    assert set(services()) == names | set(SERVERS) | {MIGRATE}


def test_containers_set_only_variables_the_code_reads() -> None:
    known = settings_env_names() | direct_env_reads()
    for name, spec in built().items():
        unknown = set(environment(spec)) - known
        assert not unknown, f"{name} sets {sorted(unknown)}, which no code reads"
        assert spec.get("env_file") in ("../.env", ["../.env"]), f"{name}: env_file ../.env"


def test_every_substituted_variable_is_known() -> None:
    listed = set(env_example())
    known = settings_env_names() | direct_env_reads()
    for path in (COMPOSE, PORTS_OVERRIDE):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        unknown = {v for v in references(document) if v not in known and v not in listed}
        assert not unknown, f"{path.name} substitutes {sorted(unknown)}: not in .env.example"


def test_env_example_explains_every_variable() -> None:
    entries = env_example()
    needed = settings_env_names() | direct_env_reads() | compose_level()
    missing = needed - set(entries)
    assert not missing, f".env.example lacks {sorted(missing)}"
    stale = set(entries) - needed
    assert not stale, f".env.example lists {sorted(stale)}, which nothing reads"
    unexplained = sorted(name for name, (_, commented) in entries.items() if not commented)
    assert not unexplained, f"no comment line above {unexplained} in .env.example"
    secrets = {name: value for name, (value, _) in entries.items()
               if SECRET.search(name) and value}
    assert not secrets, f".env.example gives secrets a value: {sorted(secrets)}"


def test_secrets_are_required_by_compose() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    for name in sorted(v for v in compose_level() if SECRET.search(v)):
        uses = re.findall(r"\$\{" + name + r"([^}]*)\}", text)
        assert uses, name
        assert all(use.startswith(":?") for use in uses), (
            f"${{{name}}} must be written ${{{name}:?message}} so Compose refuses to start "
            "without it")


def test_connections_are_built_from_the_env_file_credentials() -> None:
    """Only migrate connects as the broker's administrator; each service as its own user."""
    for name, spec in built().items():
        env = environment(spec)
        if name == MIGRATE:
            assert env["AMQP_URL"].startswith("amqp://${RABBITMQ_USER:-receptionist}:"
                                              "${RABBITMQ_PASSWORD:?")
        else:
            assert env["AMQP_URL"].startswith(
                f"amqp://${{BUS_PREFIX:-receptionist}}-{name}:"
                f"${{RABBITMQ_{name.upper()}_PASSWORD:?"), name
        assert "@rabbitmq:5672" in env["AMQP_URL"], name
        assert "${POSTGRES_PASSWORD" in env["DATABASE_URL"], name
        assert "@postgres:5432/" in env["DATABASE_URL"], name
    broker = environment(services()["rabbitmq"])
    assert broker["RABBITMQ_DEFAULT_USER"].startswith("${RABBITMQ_USER")
    assert broker["RABBITMQ_DEFAULT_PASS"].startswith("${RABBITMQ_PASSWORD")
    assert environment(services()["postgres"])["POSTGRES_PASSWORD"].startswith(
        "${POSTGRES_PASSWORD")


@pytest.mark.parametrize("path", [COMPOSE, PORTS_OVERRIDE], ids=lambda p: p.name)
def test_no_guest_anywhere(path: Path) -> None:
    assert "guest" not in path.read_text(encoding="utf-8").lower()


def test_servers_are_healthy_persistent_and_private() -> None:
    for name in SERVERS:
        spec = services()[name]
        assert "ports" not in spec, f"{name} publishes a port (use docker-compose.ports.yml)"
        assert spec.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        assert spec.get("volumes"), f"{name} keeps no volume"
        assert str(spec["volumes"][0]).split(":")[0] in compose()["volumes"]
    assert services()["rabbitmq"]["image"].startswith("rabbitmq:3.13")
    assert services()["postgres"]["image"].split(":")[1] in ("15", "16")
    override = yaml.safe_load(PORTS_OVERRIDE.read_text(encoding="utf-8"))
    assert set(override["services"]) == set(SERVERS)
    for name, spec in override["services"].items():
        assert all(str(p).startswith("127.0.0.1:") for p in spec["ports"]), name


def test_migrate_runs_once_after_the_servers() -> None:
    spec = services()[MIGRATE]
    command = " ".join(spec["command"])
    assert "receptionist migrate" in command and "receptionist bus declare" in command
    assert "receptionist bus users" in command
    assert spec.get("restart", "no") == "no"
    assert spec["depends_on"] == {s: {"condition": "service_healthy"} for s in SERVERS}


def test_migrate_gives_every_service_its_own_broker_password() -> None:
    raw = environment(services()[MIGRATE])["BUS_USER_PASSWORDS"]
    passwords = json.loads(REFERENCE.sub("x", raw))
    assert set(passwords) == {d.name for d in DEFINITIONS}
    for name in passwords:
        assert f"${{RABBITMQ_{name.upper()}_PASSWORD:?" in raw, name


# PostgreSQL's default max_connections, less its superuser_reserved_connections.
POSTGRES_CONNECTIONS = 100 - 3
REPLICAS = 3


def test_three_replicas_of_every_service_fit_the_connection_budget() -> None:
    """docs/operations.md, "Connection budget": each process holds at most DB_POOL_SIZE."""
    default = Settings.model_fields["db_pool_size"].default
    pools = {name: int(environment(spec).get("DB_POOL_SIZE", default))
             for name, spec in long_running().items()}
    assert all("DB_POOL_SIZE" in environment(spec) for spec in long_running().values())
    one_off = 1  # migrate, or an operator's `receptionist` command, holds one
    assert sum(pools.values()) * REPLICAS + one_off <= POSTGRES_CONNECTIONS, pools


def test_services_wait_for_healthy_servers_and_migrate_and_have_healthchecks() -> None:
    expected = {**{s: {"condition": "service_healthy"} for s in SERVERS},
                MIGRATE: {"condition": "service_completed_successfully"}}
    for name, spec in long_running().items():
        depends = {k: {"condition": v["condition"]} for k, v in spec["depends_on"].items()}
        assert depends == expected, name
        check = spec.get("healthcheck") or {}
        assert not check.get("disable") and OPS_URL in " ".join(check.get("test", [])), (
            f"{name} has no healthcheck on {OPS_URL}")
        assert environment(spec).get("OPS_PORT", "9100") == "9100", name


def test_scaled_services_publish_nothing_and_have_no_fixed_name() -> None:
    for name in SCALED:
        spec = services()[name]
        assert "ports" not in spec, f"{name} publishes a port: it could not scale"
        assert "container_name" not in spec, f"{name} has a container_name: it could not scale"


@pytest.mark.parametrize(("name", "host_port"), [("ingress", "8000"), ("notifier", "8001"),
                                                 ("admin", "8002")])
def test_http_services_publish_their_port(name: str, host_port: str) -> None:
    spec = services()[name]
    env = environment(spec)
    assert env["HTTP_HOST"] == "0.0.0.0"
    assert spec["ports"] == [f"{host_port}:{env['HTTP_PORT']}"]


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def _image_packages() -> set[str]:
    """The top-level directories pyproject.toml installs, and the example businesses."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = config["tool"]["setuptools"]
    found = {pattern.rstrip("*").split(".")[0]
             for pattern in setuptools["packages"]["find"]["include"]}
    found |= {Path(d).parts[0] for d in setuptools.get("package-dir", {}).values()}
    return found | {"libs", "services", "receptionist", "examples"}


def test_dockerfile_copies_every_package_and_runs_unprivileged() -> None:
    instructions = _dockerfile_instructions()
    copied = set()
    for keyword, rest in instructions:
        if keyword == "COPY" and "--from=" not in rest:
            sources = [a for a in rest.split() if not a.startswith("--")][:-1]
            copied |= {s.removeprefix("./").rstrip("/") for s in sources}
    packages = _image_packages()
    assert all((ROOT / p).is_dir() for p in packages), packages
    assert packages <= copied, f"the Dockerfile does not copy {sorted(packages - copied)}"
    users = [rest for keyword, rest in instructions if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), "the image runs as root"
    assert any(keyword == "CMD" for keyword, _ in instructions)
    stages = [rest.split()[0] for keyword, rest in instructions if keyword == "FROM"]
    assert stages[-1] == "python:3.11-slim", stages
