"""Seeding: one integer seed in the config, generators derived from it (SPEC 7).

Same seed ⇒ same shuffles, same negatives, same initial weights, hence the same metrics on CPU.
"""

from __future__ import annotations

import os
import random

import numpy as np

from pyrec.diagnostics import param_error

__all__ = ["make_generators", "make_rank_generator", "resolve_device", "seed_everything"]


def _check_seed(seed, owner: str) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**63:
        raise param_error("seed", owner, "an int in [0, 2**63)", seed)
    return int(seed)


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's legacy global RNG and torch's default generator.

    Only for code pyrec does not control (e.g. a library's weight initialisation); pyrec's own
    randomness uses the explicit generators of :func:`make_generators`.

    Raises:
        ConfigError: ``seed`` is not an int in [0, 2**63).
    """
    import torch

    seed = _check_seed(seed, "seed_everything")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def make_generators(seed: int, device: str = "cpu"):
    """Independent ``(torch.Generator, np.random.Generator)`` derived from one seed.

    The torch generator drives initialisation, shuffling and negative sampling; the NumPy one is for
    NumPy-side randomness. Both come from ``np.random.SeedSequence(seed)`` so they are independent.

    Returns:
        tuple[torch.Generator, numpy.random.Generator]

    Raises:
        ConfigError: ``seed`` is not an int in [0, 2**63).
    """
    import torch

    seed = _check_seed(seed, "make_generators")
    ss = np.random.SeedSequence(seed)
    torch_ss, np_ss = ss.spawn(2)
    gen = torch.Generator(device=device)
    gen.manual_seed(int(torch_ss.generate_state(1, dtype=np.uint64)[0] % 2**63))
    return gen, np.random.default_rng(np_ss)


def make_rank_generator(seed: int, rank: int, epoch: int):
    """The ``torch.Generator`` of one data-parallel rank in one epoch (its negatives).

    Seeded from ``np.random.SeedSequence([seed, rank, epoch])``: reproducible for a given
    (seed, rank, epoch), different between ranks (so ranks draw distinct negatives) and needing no
    saved state to resume an epoch.

    Raises:
        ConfigError: ``seed`` is not an int in [0, 2**63).
    """
    import torch

    seed = _check_seed(seed, "make_rank_generator")
    state = np.random.SeedSequence([seed, int(rank), int(epoch)]).generate_state(1, dtype=np.uint64)[0]
    gen = torch.Generator()
    gen.manual_seed(int(state % 2**63))
    return gen


def resolve_device(device: str | None = None) -> str:
    """The device to train on, resolved once: explicit argument, then ``$PYREC_DEVICE``, then CPU.

    ``"auto"`` means CUDA when available, else CPU.

    Raises:
        BackendUnavailable: CUDA was asked for but is not available.
        ConfigError: an unknown device string.
    """
    import torch

    from pyrec.diagnostics import BackendUnavailable

    dev = device or os.environ.get("PYREC_DEVICE") or "cpu"
    if dev == "auto":
        dev = "cuda" if torch.cuda.is_available() else "cpu"
    if dev.startswith("cuda") and not torch.cuda.is_available():
        raise BackendUnavailable(f"device {dev!r} was requested but CUDA is not available here.")
    try:
        torch.device(dev)
    except (RuntimeError, ValueError):
        raise param_error(
            "device", "resolve_device", "'cpu', 'cuda[:N]', 'mps' or 'auto'", dev
        ) from None
    return dev
