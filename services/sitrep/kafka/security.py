"""A local cluster with authentication and ACLs (`sitrep kafka start --secure`).

Clients sign in with SASL/SCRAM-SHA-512 on the brokers' listener; the controllers' listener
takes the admin alone, with SASL/PLAIN (KRaft's controllers cannot check SCRAM credentials,
which live in the metadata they serve). Kafka's StandardAuthorizer refuses whatever no ACL
allows. Four principals are made, each with a password of its own kept in
``<data dir>/principals.json`` (readable by its owner only):

- ``admin``: a super user: creates topics and grants the ACLs;
- ``sitrep-worker``: reads and writes the namespace's topics, its own (faust's), its group;
- ``sitrep-api``: reads the namespace's topics, writes the event log;
- ``scraper``: writes the event log and reads the actor registry, nothing else.

What each needs is the same on any cluster (docs/OPERATIONS.md).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sitrep.kafka.clients import Principal
from sitrep.kafka.errors import KafkaSetupError
from sitrep.settings import Settings

PRINCIPALS_FILE = "principals.json"
ADMIN_PROPERTIES = "admin.properties"
ADMIN = "admin"
WORKER, API, SCRAPER = "sitrep-worker", "sitrep-api", "scraper"
MECHANISM = "SCRAM-SHA-512"
_ACL_TIMEOUT_S = 120.0
SCRAM_LOGIN = "org.apache.kafka.common.security.scram.ScramLoginModule"
PLAIN_LOGIN = "org.apache.kafka.common.security.plain.PlainLoginModule"


def _principals_file(data_dir: Path) -> Path:
    return data_dir / PRINCIPALS_FILE


def ensure_principals(data_dir: Path) -> dict[str, str]:
    """The principals' passwords, made the first time (the file readable by its owner only)."""
    path = _principals_file(data_dir)
    if path.is_file():
        return principals(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    made = {name: secrets.token_urlsafe(24) for name in (ADMIN, WORKER, API, SCRAPER)}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(made, out, indent=2)
    return made


def principals(data_dir: Path) -> dict[str, str]:
    """Each principal's password, as the cluster was made with."""
    try:
        found: dict[str, str] = json.loads(_principals_file(data_dir).read_text("utf-8"))
    except (FileNotFoundError, ValueError) as exc:
        raise KafkaSetupError(f"{_principals_file(data_dir)} is missing or unreadable") from exc
    return found


def principal(data_dir: Path, name: str) -> Principal:
    """How ``name`` signs in to the local secure cluster in ``data_dir``."""
    return Principal(name, principals(data_dir)[name], MECHANISM)


def admin_of(data_dir: Path) -> Principal:
    return principal(data_dir, ADMIN)


def _jaas(module: str, username: str, password: str, extra: str = "") -> str:
    return f'{module} required username="{username}" password="{password}"{extra};'


def broker_security(data_dir: Path) -> str:
    """The lines a secure node's server.properties adds."""
    password = principals(data_dir)[ADMIN]
    return "\n".join(
        [
            "# --- Authentication (SASL) and authorization (ACLs): sitrep kafka start --secure ---",
            f"sasl.enabled.mechanisms={MECHANISM}",
            f"sasl.mechanism.inter.broker.protocol={MECHANISM}",
            "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config="
            + _jaas(SCRAM_LOGIN, ADMIN, password),
            "sasl.mechanism.controller.protocol=PLAIN",
            "listener.name.controller.sasl.enabled.mechanisms=PLAIN",
            "listener.name.controller.plain.sasl.jaas.config="
            + _jaas(PLAIN_LOGIN, ADMIN, password, f' user_{ADMIN}="{password}"'),
            "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found=false",
            f"super.users=User:{ADMIN}",
        ]
    )


def scram_arguments(data_dir: Path) -> list[str]:
    """The storage tool's options that create every principal's SCRAM credentials."""
    out: list[str] = []
    for name, password in principals(data_dir).items():
        out += ["--add-scram", f"{MECHANISM}=[name={name},password={password}]"]
    return out


@dataclass(frozen=True)
class Acl:
    """One thing a principal is allowed: ``operations`` on the ``kind`` of resource (topic,
    group) named ``name``, or every one whose name begins with it when ``prefixed``."""

    principal: str
    operations: tuple[str, ...]
    kind: Literal["topic", "group"]
    name: str
    prefixed: bool = False

    def arguments(self) -> list[str]:
        """This ACL as Kafka's AclCommand adds it."""
        ops = [arg for op in self.operations for arg in ("--operation", op)]
        pattern = ["--resource-pattern-type", "prefixed"] if self.prefixed else []
        return [
            "--add",
            "--allow-principal",
            f"User:{self.principal}",
            *ops,
            f"--{self.kind}",
            self.name,
            *pattern,
        ]


def acls(settings: Settings) -> list[Acl]:
    """What each principal is allowed, and no more (the same on any cluster: Strimzi's
    KafkaUsers in deploy/kubernetes say it again, and a test checks they agree)."""
    names = settings.topics()
    prefix = f"{names.namespace}."
    worker_own = settings.worker_id
    return [
        Acl(SCRAPER, ("Write", "Describe"), "topic", names.events),
        Acl(SCRAPER, ("Read", "Describe"), "topic", names.registry),
        Acl(API, ("Write", "Describe"), "topic", names.events),
        Acl(API, ("Read", "Describe"), "topic", prefix, prefixed=True),
        Acl(WORKER, ("Read", "Write", "Describe"), "topic", prefix, prefixed=True),
        Acl(WORKER, ("All",), "topic", worker_own, prefixed=True),
        Acl(WORKER, ("All",), "group", worker_own, prefixed=True),
    ]


def grant(java: str, libs: Path, data_dir: Path, bootstrap: str, settings: Settings) -> None:
    """Grant every principal its ACLs (again: granting one twice changes nothing)."""
    properties = data_dir / ADMIN_PROPERTIES
    admin = admin_of(data_dir)
    fd = os.open(properties, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(
            "security.protocol=SASL_PLAINTEXT\n"
            f"sasl.mechanism={MECHANISM}\n"
            f"sasl.jaas.config={_jaas(SCRAM_LOGIN, admin.username, admin.password)}\n"
        )
    for acl in acls(settings):
        arguments = acl.arguments()
        command = [
            java,
            "-Xmx128m",
            "-cp",
            f"{libs}/*",
            "kafka.admin.AclCommand",
            "--bootstrap-server",
            bootstrap,
            "--command-config",
            str(properties),
            *arguments,
        ]
        done = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=_ACL_TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
            raise KafkaSetupError(f"granting ACLs failed ({' '.join(arguments)}):\n{tail}")
