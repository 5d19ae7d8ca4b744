"""Start-up cost of the command line and the server, against importing flask and
sqlite_utils (issue 18: a quick command line; issue 19: start-up).

Every figure is a fresh interpreter, measured in the same run as its baseline:

- baseline: `python -c "import flask, sqlite_utils"`, the least any surveyapp command
  can cost (both are imported by every command);
- help: `surveyapp --help`;
- check: `surveyapp --instance I questionnaires check 2021.1.yaml` against an instance
  that has 2020.1 published (so the check compares with the published version);
- serve: `surveyapp --instance I serve` until its first answer (`GET /login`, 200),
  then stopped.

The four run in each of `--rounds` rounds, in alternating order (forwards, then
backwards), so machine load that drifts during the run falls on all of them alike. For
each command the script prints the median wall time and CPU time (user + system of the
process and, for serve, of its children up to the first answer) and their ratios to the
baseline's medians. The CPU ratio is the figure that counts (target: at most 2); wall
time also waits for other work on a busy machine. The machine's load average is printed
before and after. The last line reads
`startup: help=<cpu ratio> check=<cpu ratio> serve=<cpu ratio>`.

    .venv/bin/python bench/startup.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess  # nosec B404: our own interpreter with fixed arguments
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-c", "from surveyapp.cli import main; main()"]
DEFINITIONS = ROOT / "questionnaires" / "infosec-selfcheck"
TARGET = 2.0
SERVE_TIMEOUT = 60.0
TICKS = os.sysconf("SC_CLK_TCK")


def environment(instance: Path) -> dict:
    """The instance, one server process (its first answer is the parent's own), and
    the checkout on the path as the console script would have it."""
    return {**os.environ, "SURVEYAPP_INSTANCE": str(instance),
            "SURVEYAPP_SERVER_PROCESSES": "1",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                        os.environ.get("PYTHONPATH")]))}


def timed_run(command: list[str], env: dict) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of a command run to its end."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL,  # nosec B603
                               stderr=subprocess.DEVNULL, env=env, cwd=str(ROOT))
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):  # check exits 1 on errors, which are a figure too
        raise RuntimeError(f"{command} exited with {process.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def process_cpu(pid: int) -> float:
    """User + system seconds of a running process and its waited-for children."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / TICKS


def first_answer(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + SERVE_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login",  # nosec B310
                                        timeout=5) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.005)
    raise RuntimeError("serve did not answer in time")


def timed_serve(env: dict) -> tuple[float, float]:
    """(wall seconds, CPU seconds) from starting `serve` to its first 200."""
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen(  # nosec B603
        [*CLI, "serve", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=str(ROOT))
    try:
        first_answer(port, process)
        wall = time.perf_counter() - started
        cpu = process_cpu(process.pid)
    finally:
        process.terminate()
        process.wait(30)
    return wall, cpu


def prepare(instance: Path) -> None:
    env = environment(instance)
    for command in (["init"], ["questionnaires", "publish", str(DEFINITIONS / "2020.1.yaml")]):
        subprocess.run([*CLI, *command], env=env, cwd=str(ROOT), check=True,  # nosec B603
                       stdout=subprocess.DEVNULL)


def measurements(env: dict) -> dict:
    return {
        "baseline": lambda: timed_run([sys.executable, "-c", "import flask, sqlite_utils"],
                                      env),
        "help": lambda: timed_run([*CLI, "--help"], env),
        "check": lambda: timed_run([*CLI, "questionnaires", "check",
                                    str(DEFINITIONS / "2021.1.yaml")], env),
        "serve": lambda: timed_serve(env),
    }


def run_rounds(rounds: int, env: dict) -> dict[str, list[tuple[float, float]]]:
    measure = measurements(env)
    names = list(measure)
    results = {name: [] for name in names}
    for number in range(rounds):
        order = names if number % 2 == 0 else names[::-1]
        for name in order:
            results[name].append(measure[name]())
    return results


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def report(results: dict[str, list[tuple[float, float]]]) -> None:
    wall = {name: statistics.median(w for w, _ in runs) for name, runs in results.items()}
    cpu = {name: statistics.median(c for _, c in runs) for name, runs in results.items()}
    print(f"{'':10}{'wall s':>9}{'cpu s':>9}{'wall ratio':>12}{'cpu ratio':>11}")
    for name in results:
        print(f"{name:10}{wall[name]:9.3f}{cpu[name]:9.3f}"
              f"{wall[name] / wall['baseline']:12.2f}{cpu[name] / cpu['baseline']:11.2f}")
    ratios = {name: cpu[name] / cpu["baseline"] for name in results if name != "baseline"}
    verdict = "met" if all(value <= TARGET for value in ratios.values()) else "NOT met"
    print(f"target: CPU ratio <= {TARGET:.0f} for every command: {verdict}")
    print("startup: " + " ".join(f"{name}={value:.2f}" for name, value in ratios.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="surveyapp-startup-"))
    try:
        instance = folder / "instance"
        prepare(instance)
        print(f"load average before: {load()}  (cores: {os.cpu_count()})")
        results = run_rounds(args.rounds, environment(instance))
        print(f"load average after:  {load()}  ({args.rounds} rounds, medians)")
        report(results)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
