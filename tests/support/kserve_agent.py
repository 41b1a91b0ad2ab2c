"""KServe's own agent (the Go binary of hack/build-kserve.sh) in front of a predictor, logging to a collector.

In a cluster KServe's pod webhook injects the agent beside the predictor when an InferenceService
has ``spec.predictor.logger``: it proxies every request to the model server and posts each half
as a CloudEvent to the logger URL. Here it runs as a process in a network namespace of its own,
with the arguments the webhook gives it (``pkg/webhook/admission/pod/agent_injector.go``, v0.20);
in there, the model server's port and the collector's port on 127.0.0.1 are relays to the host's
loopback, and the host reaches the agent through a relay the other way.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from support.netns import listening, relay_in, relay_out
from support.processes import ServerProcess, start_process, wait_until

AGENT_PORT = 9081  # the webhook's agent port
COMPONENT_PORT = 8080  # the model server's port in the pod
LOGGER_PORT = 8090  # where the collector's port appears inside the namespace


@dataclass(frozen=True)
class Agent:
    url: str  # the agent on the host's loopback, as a client in the cluster reaches the predictor
    process: ServerProcess


@contextmanager
def running_agent(binary: Path, workdir: Path, *, predictor_port: int, collector_port: int,
                  inference_service: str, namespace: str, metadata_headers: Sequence[str] = (),
                  annotations: Mapping[str, str] | None = None, timeout: float = 60.0) -> Iterator[Agent]:
    """The agent proxying to the predictor on the host's ``predictor_port`` and logging every
    request and response to the collector on ``collector_port`` (``/v1/events``)."""
    workdir.mkdir(parents=True, exist_ok=True)
    ready = workdir / "namespace-ready"
    with ExitStack() as stack:
        holder = start_process("agent namespace", ["unshare", "--net", "--", "sh", "-c",
                                                   f"set -eu; ip link set lo up; touch {ready}; exec sleep infinity"],
                               workdir / "namespace.log", stop_signal=signal.SIGKILL)
        stack.callback(holder.stop)
        wait_until(ready.exists, what="the agent's network namespace", timeout=30, process=holder)

        def enter(*args: object) -> list[str]:
            return ["nsenter", "--target", str(holder.popen.pid), "--net", "--", *(str(a) for a in args)]

        relay_out(stack, enter, workdir, COMPONENT_PORT, predictor_port)
        relay_out(stack, enter, workdir, LOGGER_PORT, collector_port)
        args: list[object] = [binary, "--port", AGENT_PORT, "--component-port", COMPONENT_PORT,
                              "--log-url", f"http://127.0.0.1:{LOGGER_PORT}/v1/events",
                              "--source-uri", f"http://localhost:{AGENT_PORT}/{inference_service}",
                              "--log-mode", "all", "--inference-service", inference_service,
                              "--namespace", namespace, "--endpoint", "", "--component", "predictor"]
        if metadata_headers:
            args += ["--metadata-headers", ",".join(metadata_headers)]
        for key, value in (annotations or {}).items():
            args += ["--metadata-annotations", f"{key}={value}"]
        # The webhook passes the model server's readiness probe; the agent answers it on its own port.
        probe = f'{{"tcpSocket":{{"port":{COMPONENT_PORT},"host":"127.0.0.1"}},"timeoutSeconds":1}}'
        # SIGKILL: on SIGTERM the agent waits 30 s for Knative to notice it is draining.
        agent = start_process("kserve agent", enter(*args), workdir / "agent.log",
                              env={"SERVING_READINESS_PROBE": probe, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
                              stop_signal=signal.SIGKILL)
        stack.callback(agent.stop)
        port = relay_in(stack, enter, workdir, "127.0.0.1", AGENT_PORT)
        wait_until(lambda: listening(port) and "Starting agent http server" in agent.log_tail(20000),
                   what="the KServe agent", timeout=timeout, process=agent)
        yield Agent(url=f"http://127.0.0.1:{port}", process=agent)
