"""What this machine can run: memory, CPU, accelerators, llama.cpp backends, speeds.

``probe_machine`` gathers a :class:`Machine`; ``ember.fit`` turns it and a model's GGUF
metadata into a load plan. Nothing here raises for a missing tool or file.
"""

from ember.hardware.machine import GPU, GiB, Machine
from ember.hardware.probe import probe_machine

__all__ = ["GPU", "GiB", "Machine", "probe_machine"]
