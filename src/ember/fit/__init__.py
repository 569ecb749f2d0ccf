"""Fit: what runs well on this machine, and how to load it.

``fit(machine, model_info) -> LoadPlan`` is pure (see plan.py); options.py turns a plan
into the engine's ``LoadOptions`` and the pool's memory budget; catalogue.py plans every
catalogue model before download. Import the engine-facing parts from their modules: this
package's top level stays free of llama.cpp.
"""

from ember.fit.budget import gpu_budget, memory_budget
from ember.fit.plan import LoadPlan, fit

__all__ = ["LoadPlan", "fit", "gpu_budget", "memory_budget"]
