"""Start N local data-parallel processes with ``torch.multiprocessing`` and return rank 0's result.

What ``pyrec train --backend deepspeed --nproc N`` uses on a CPU machine (gloo); on GPUs the same
per-rank code runs under DeepSpeed's own launcher (``deepspeed --num_gpus N --module pyrec train ...``)
instead. Nothing here communicates between the ranks: each child only gets the launcher
environment that ``deepspeed``/``torchrun`` would set (``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``,
``LOCAL_WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``) and then joins DeepSpeed's process group
itself (:func:`pyrec.backends.deepspeed_backend.init_distributed`).

Processes: ``torch.multiprocessing.start_processes(..., start_method="spawn")`` (torch docs,
"Multiprocessing package - torch.multiprocessing", *Spawning subprocesses*): when a child raises,
``ProcessContext.join`` terminates the others and raises ``ProcessRaisedException`` with the
child's traceback; here that becomes a :class:`~pyrec.diagnostics.DistributedError` naming the
rank and its exception. A run longer than ``timeout_s`` is stopped the same way; a collective
that waits for a dead or stuck peer raises in the waiting rank after the process group's timeout
(``DeepSpeedBackend(dist_timeout_s=...)``), so a run fails instead of hanging.
"""

from __future__ import annotations

import os
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from pyrec.diagnostics import DistributedError, param_error

__all__ = ["run_data_parallel", "free_port"]

#: most characters of a child's error message carried back to the parent
_MAX_MESSAGE = 4000


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on now (the rendezvous port of a local run)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _child(local_rank: int, fn: Callable, args: tuple, nproc: int, addr: str, port: int,
           result_path: str, errors) -> None:
    """One rank: set the launcher environment, run ``fn(*args)``; rank 0 saves the return value."""
    os.environ.update(RANK=str(local_rank), LOCAL_RANK=str(local_rank), WORLD_SIZE=str(nproc),
                      LOCAL_WORLD_SIZE=str(nproc), MASTER_ADDR=addr, MASTER_PORT=str(port))
    try:
        out = fn(*args)
        if local_rank == 0:
            import torch

            torch.save(out, result_path)
    except BaseException as exc:  # the message travels back; the traceback stays in torch's
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        errors.put((local_rank, text[:_MAX_MESSAGE]))
        raise


def run_data_parallel(fn: Callable, args: tuple = (), *, nproc: int, timeout_s: float | None = None,
                      master_addr: str = "127.0.0.1", master_port: int | None = None) -> Any:
    """Run ``fn(*args)`` in ``nproc`` fresh processes (ranks 0..nproc-1) and return rank 0's result.

    Args:
        fn: a module-level (picklable) callable; every rank calls it with the same ``args``. It
            reads its rank from the environment (``RANK``, ``WORLD_SIZE``, ...), e.g. through
            :class:`pyrec.backends.DeepSpeedBackend`.
        args: picklable positional arguments.
        nproc: number of processes, an int >= 1.
        timeout_s: wall seconds the whole run may take before its processes are terminated
            (None: no limit; collectives still time out, see the module docstring).
        master_addr, master_port: rendezvous address (default: localhost and a free port).

    Returns:
        rank 0's return value (saved with ``torch.save`` into a temporary folder of this process,
        loaded here; so it must be picklable). The other ranks' return values are dropped and
        they write no file.

    Raises:
        ConfigError: ``nproc`` is not an int >= 1.
        DistributedError: a rank raised (the message names the rank and its exception, e.g.
            ``rank 1 of 2 failed: ValueError: ...``), was killed, or the run passed ``timeout_s``.
    """
    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise param_error("nproc", "run_data_parallel", "an int in [1, inf)", nproc)
    import tempfile

    import torch
    import torch.multiprocessing as mp

    port = int(master_port) if master_port is not None else free_port(master_addr)
    errors = mp.get_context("spawn").SimpleQueue()
    with tempfile.TemporaryDirectory(prefix="pyrec-ddp-") as tmp:
        result_path = str(Path(tmp) / "rank0.pt")
        ctx = mp.start_processes(_child, args=(fn, args, nproc, master_addr, port, result_path, errors),
                                 nprocs=nproc, join=False, start_method="spawn")
        deadline = None if timeout_s is None else time.monotonic() + float(timeout_s)
        try:
            while not ctx.join(timeout=0.5):
                if deadline is not None and time.monotonic() > deadline:
                    raise DistributedError(f"the {nproc}-process run did not finish within {timeout_s:g} s; "
                                           "its processes were stopped")
        except mp.ProcessRaisedException as exc:
            message = _child_message(errors, exc.error_index) or _last_line(str(exc))
            raise DistributedError(f"rank {exc.error_index} of {nproc} failed: {message}") from None
        except mp.ProcessExitedException as exc:
            how = f"signal {exc.signal_name}" if exc.signal_name else f"exit code {exc.exit_code}"
            raise DistributedError(f"rank {exc.error_index} of {nproc} died ({how}) before finishing") from None
        finally:
            _stop(ctx.processes)
        if not os.path.exists(result_path):
            raise DistributedError(f"rank 0 of {nproc} finished without a result")
        return torch.load(result_path, weights_only=False)


def _child_message(errors, rank: int) -> str | None:
    """The message the failing rank queued (the first one of that rank), if any."""
    found = None
    while not errors.empty():
        r, text = errors.get()
        if r == rank and found is None:
            found = text
    return found


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else "unknown error"


def _stop(processes, grace_s: float = 5.0) -> None:
    """Terminate (then kill) the ranks still alive; a no-op after a clean finish."""
    for p in processes:
        if p.is_alive():
            p.terminate()
    for p in processes:
        p.join(grace_s)
        if p.is_alive():
            p.kill()
            p.join(grace_s)
