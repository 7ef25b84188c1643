"""Hardware backends: ``cpu``, ``cuda``, ``deepspeed`` and ``fpga-sim`` behind one :class:`Backend`.

``get_backend(name, **settings)`` builds one (``BackendUnavailable`` says why it cannot run here).
Every backend reports ``describe()`` (device, dtype, threads, hardware, ``simulated``) into result
rows. Submodules import torch/deepspeed/hls4ml lazily; names load on first use.
"""

from __future__ import annotations

from pyrec._lazy import attach
from pyrec.diagnostics import BackendUnavailable as BackendUnavailable  # re-exported

_LAZY = {
    "Backend": "pyrec.backends.base",
    "TrainStep": "pyrec.backends.base",
    "hardware_info": "pyrec.backends.base",
    "BACKENDS": "pyrec.backends.registry",
    "get_backend": "pyrec.backends.registry",
    "backend_class": "pyrec.backends.registry",
    "available_backends": "pyrec.backends.registry",
    "CPUBackend": "pyrec.backends.cpu",
    "CUDABackend": "pyrec.backends.cuda",
    "DeepSpeedBackend": "pyrec.backends.deepspeed_backend",
    "DeepSpeedTrainResult": "pyrec.backends.deepspeed_backend",
    "make_deepspeed_config": "pyrec.backends.deepspeed_backend",
    "deepspeed_train": "pyrec.backends.deepspeed_backend",
    "distributed_env": "pyrec.backends.deepspeed_backend",
    "init_distributed": "pyrec.backends.deepspeed_backend",
    "init_inference": "pyrec.backends.deepspeed_backend",
    "run_data_parallel": "pyrec.backends.launch",
    "FPGASimBackend": "pyrec.backends.fpga_sim",
    "FPGADeployment": "pyrec.backends.fpga_sim",
    "HLSHead": "pyrec.backends.hls",
    "LayerSpec": "pyrec.backends.hls",
    "export_hls_head": "pyrec.backends.hls",
    "FPGALatencyEstimate": "pyrec.backends.fpga_latency",
    "estimate_latency": "pyrec.backends.fpga_latency",
    "vendor_hls_tool": "pyrec.backends.fpga_latency",
}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY, eager=["BackendUnavailable"])
