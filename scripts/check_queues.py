"""Checks the workers' -Q lists against the queue declarations (config/queues.py).

    .venv/bin/python scripts/check_queues.py

Fails (exit status 1), naming the queue and the file, when

- a declared queue is served by no worker of Procfile or of docker-compose.yml;
- a worker's -Q names a queue no app declares;
- the Procfile worker's -Q list is not in the declared priority order (``local_rank``);
- a docker-compose worker service serves a queue declared for another group, or runs with
  another concurrency (-c) than its queues declare;
- Procfile.examples (the examples deployed with each queue's documented concurrency) does
  not serve every example queue exactly once, names an undeclared queue, or runs a queue
  with another -c than its source document gives (``examples/queues.py``,
  ``DOCUMENTED_CONCURRENCY``), or two of its workers share a node name.

Run by scripts/check-compose.sh, and so in CI (.ci/run).
"""

import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.queues import EXAMPLE_QUEUES, QUEUES, QueueDeclaration  # noqa: E402
from examples.queues import DOCUMENTED_CONCURRENCY  # noqa: E402


def command_tokens(command: str | Sequence[str] | None) -> list[str]:
    """The words of a command, looking inside ``sh -c "<script>"``."""
    if not command:
        return []
    tokens = shlex.split(command) if isinstance(command, str) else [str(t) for t in command]
    if len(tokens) >= 3 and tokens[0] in ("sh", "bash") and tokens[1] == "-c":
        return shlex.split(tokens[2])
    return tokens


def is_celery_worker(tokens: Sequence[str]) -> bool:
    return any(Path(t).name == "celery" for t in tokens) and "worker" in tokens


def option(tokens: Sequence[str], short: str, long: str) -> str | None:
    """The value of -X value, -Xvalue, --long value or --long=value; None when absent."""
    for index, token in enumerate(tokens):
        if token in (short, long):
            return tokens[index + 1] if index + 1 < len(tokens) else ""
        if token.startswith(long + "="):
            return token.split("=", 1)[1]
        if token.startswith(short) and not token.startswith("--") and len(token) > len(short):
            return token[len(short) :]
    return None


def queue_list(tokens: Sequence[str]) -> list[str] | None:
    value = option(tokens, "-Q", "--queues")
    return None if value is None else [name.strip() for name in value.split(",") if name.strip()]


def check_procfile(text: str, queues: Sequence[QueueDeclaration], path: str) -> list[str]:
    declared = {queue.name: queue for queue in queues}
    problems: list[str] = []
    served: list[str] = []
    for line in text.splitlines():
        process, _, command = line.partition(":")
        if line.lstrip().startswith("#") or not command:
            continue
        tokens = command_tokens(command)
        if not is_celery_worker(tokens):
            continue
        names = queue_list(tokens)
        if names is None:
            problems.append(f"{path}: process {process.strip()!r} has no -Q list")
            continue
        for name in names:
            if name not in declared:
                problems.append(
                    f"{path}: process {process.strip()!r}: -Q names queue {name!r}, "
                    "which no app declares"
                )
        served.extend(names)
    for queue in queues:
        if queue.name not in served:
            problems.append(
                f"{path}: queue {queue.name!r} (declared in {queue.declared_in}) "
                "is served by no worker"
            )
    in_order = list(dict.fromkeys(name for name in served if name in declared))
    expected = [q.name for q in sorted(queues, key=lambda q: q.local_rank) if q.name in served]
    for listed, due in zip(in_order, expected, strict=True):
        if listed != due:
            problems.append(
                f"{path}: -Q lists queue {listed!r} where the declared priority order "
                f"(local_rank) puts {due!r}; in order: {','.join(expected)}"
            )
            break
    return problems


def check_compose(compose: dict, queues: Sequence[QueueDeclaration], path: str) -> list[str]:
    declared = {queue.name: queue for queue in queues}
    problems: list[str] = []
    served: dict[str, list[str]] = {}
    for service, spec in (compose.get("services") or {}).items():
        tokens = command_tokens((spec or {}).get("command"))
        if not is_celery_worker(tokens):
            continue
        names = queue_list(tokens)
        if names is None:
            problems.append(f"{path}: service {service!r} has no -Q list")
            continue
        concurrency = option(tokens, "-c", "--concurrency")
        for name in names:
            served.setdefault(name, []).append(service)
            queue = declared.get(name)
            if queue is None:
                problems.append(
                    f"{path}: service {service!r}: -Q names queue {name!r}, which no app declares"
                )
                continue
            if queue.group != service:
                problems.append(
                    f"{path}: service {service!r} serves queue {name!r}, which "
                    f"{queue.declared_in} assigns to group {queue.group!r}"
                )
            elif concurrency != str(queue.concurrency):
                problems.append(
                    f"{path}: service {service!r} runs with -c {concurrency}; queue {name!r} "
                    f"({queue.declared_in}) declares concurrency {queue.concurrency}"
                )
    for queue in queues:
        if queue.name not in served:
            problems.append(
                f"{path}: queue {queue.name!r} (declared in {queue.declared_in}, group "
                f"{queue.group!r}) is served by no worker service"
            )
    return problems


def check_concurrency_procfile(
    text: str, queues: Sequence[QueueDeclaration], concurrency: dict[str, int], path: str
) -> list[str]:
    """A deployment Procfile with one worker per queue group: every queue served by exactly
    one worker, whose -c is the concurrency given for each of its queues."""
    declared = {queue.name for queue in queues}
    problems: list[str] = [
        f"{path}: queue {name!r} has no documented concurrency"
        for name in sorted(declared - set(concurrency))
    ]
    served: dict[str, list[str]] = {}
    nodes: dict[str, str] = {}
    for line in text.splitlines():
        process, _, command = line.partition(":")
        process = process.strip()
        if line.lstrip().startswith("#") or not command:
            continue
        tokens = command_tokens(command)
        if not is_celery_worker(tokens):
            continue
        names = queue_list(tokens)
        if not names:
            problems.append(f"{path}: process {process!r} has no -Q list")
            continue
        node = option(tokens, "-n", "--hostname")
        if node is not None and nodes.setdefault(node, process) != process:
            problems.append(
                f"{path}: processes {nodes[node]!r} and {process!r} share the node name {node!r}"
            )
        workers = option(tokens, "-c", "--concurrency")
        for name in names:
            served.setdefault(name, []).append(process)
            if name not in declared:
                problems.append(
                    f"{path}: process {process!r}: -Q names queue {name!r}, which no app declares"
                )
            elif name in concurrency and workers != str(concurrency[name]):
                problems.append(
                    f"{path}: process {process!r} runs with -c {workers}; queue {name!r} "
                    f"is documented with concurrency {concurrency[name]}"
                )
    for queue in queues:
        processes = served.get(queue.name, [])
        if len(processes) != 1:
            problems.append(
                f"{path}: queue {queue.name!r} (declared in {queue.declared_in}) is served by "
                f"{len(processes)} processes {processes}, not exactly one"
            )
    return problems


def main() -> int:
    procfile = ROOT / "Procfile"
    compose = ROOT / "docker-compose.yml"
    examples = ROOT / "Procfile.examples"
    problems = [
        # make run installs the examples app (config.settings.local): its Procfile serves the
        # examples' queues too; docker-compose.yml (production) does not.
        *check_procfile(procfile.read_text(), (*QUEUES, *EXAMPLE_QUEUES), procfile.name),
        *check_compose(yaml.safe_load(compose.read_text()), QUEUES, compose.name),
        *check_concurrency_procfile(
            examples.read_text(), EXAMPLE_QUEUES, DOCUMENTED_CONCURRENCY, examples.name
        ),
    ]
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"queues: Procfile and {compose.name} serve the {len(QUEUES)} declared queues")
    print(
        f"queues: {examples.name} serves the {len(EXAMPLE_QUEUES)} example queues, each with "
        "its documented concurrency"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
