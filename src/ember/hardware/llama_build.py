"""Which llama.cpp backends this build of llama-cpp-python carries.

A CUDA card is useless to a CPU-only wheel; ``fit`` plans GPU layers only when the build
can offload, and ``ember doctor`` says how to get a build that can.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LlamaBuild:
    version: str | None
    system_info: str
    gpu_offload: bool
    backends: tuple[str, ...]
    error: str | None = None


# Substrings of llama.cpp's system info (and backend registry names) per backend.
_MARKERS = {
    "cuda": ("CUDA",),
    "metal": ("METAL", "Metal"),
    "vulkan": ("VULKAN", "Vulkan"),
    "rocm": ("ROCM", "HIP"),
    "sycl": ("SYCL",),
    "opencl": ("OPENCL", "OpenCL"),
}


def read_llama_build() -> LlamaBuild:
    """Ask the loaded llama.cpp library; an import failure is reported, not raised."""
    try:
        import llama_cpp as ll
    except (ImportError, OSError) as exc:  # OSError: the shared library failed to load
        return LlamaBuild(None, "", False, (), error=str(exc))
    info_raw = ll.llama_print_system_info()
    info = info_raw.decode(errors="replace") if isinstance(info_raw, bytes) else str(info_raw)
    offload = bool(ll.llama_supports_gpu_offload())
    names = info + " " + " ".join(_registered_backends(ll))
    backends = ["cpu"]
    backends += [b for b, markers in _MARKERS.items() if any(m in names for m in markers)]
    return LlamaBuild(
        version=str(getattr(ll, "__version__", None)),
        system_info=info.strip(),
        gpu_offload=offload,
        backends=tuple(backends),
    )


def _registered_backends(ll: object) -> list[str]:
    """Names of registered ggml backends, where the bindings expose the registry."""
    count = getattr(ll, "ggml_backend_reg_count", None)
    name_of = getattr(ll, "ggml_backend_reg_name", None)
    get = getattr(ll, "ggml_backend_reg_get", None)
    if count is None or name_of is None or get is None:
        return []
    try:
        raw = [name_of(get(i)) for i in range(int(count()))]
    except (OSError, AttributeError, TypeError):
        return []
    return [r.decode() if isinstance(r, bytes) else str(r) for r in raw]
