"""Unit conversions through pint (its default unit definitions, loaded on first use)."""

from __future__ import annotations

import functools
from typing import Any

from ember.tools.registry import ToolError

_ALIASES = {
    "celsius": "degC", "°c": "degC", "c": "degC", "degrees celsius": "degC",
    "fahrenheit": "degF", "°f": "degF", "f": "degF", "degrees fahrenheit": "degF",
    "kelvin": "kelvin", "k": "kelvin", "kph": "km/h", "kmh": "km/h",
    "us gallon": "gallon", "us gallons": "gallon", "us_gallon": "gallon",
    "imperial gallon": "imperial_gallon", "imperial gallons": "imperial_gallon",
    "fluid ounce": "fluid_ounce", "fluid ounces": "fluid_ounce", "fl oz": "fluid_ounce",
    "degree celsius": "degC", "degree fahrenheit": "degF",
}  # fmt: skip


@functools.lru_cache(maxsize=1)
def _registry() -> Any:
    import pint

    return pint.UnitRegistry(autoconvert_offset_to_baseunit=True)


def _unit(name: str) -> str:
    key = " ".join(name.split())
    return _ALIASES.get(key.lower(), key)


def convert_units(value: float, from_unit: str, to_unit: str) -> str:
    """Convert a measurement from one unit to another: "how many inches is 20 cm",
    "degrees Fahrenheit in Celsius", "hours in seconds", "km in miles" (length, mass,
    volume, temperature, speed, time, data, ...). Use it for every unit conversion.

    Args:
        value: The number to convert, e.g. 5.
        from_unit: The unit it is in, e.g. "miles", "kg", "degF", "km/h".
        to_unit: The unit wanted, e.g. "km", "pound", "degC", "mph".
    """
    import pint

    ureg = _registry()
    try:
        quantity = ureg.Quantity(value, _unit(from_unit))
        result = quantity.to(_unit(to_unit))
    except pint.errors.UndefinedUnitError as e:
        names = e.unit_names if isinstance(e.unit_names, (tuple, list)) else (e.unit_names,)
        unknown = ", ".join(repr(str(n)) for n in names)
        raise ToolError(f"unknown unit {unknown}; try a plain name like 'km' or 'pound'") from None
    except pint.errors.DimensionalityError:
        raise ToolError(
            f"cannot convert {from_unit} to {to_unit}: they measure different things"
        ) from None
    except (pint.errors.PintError, ValueError, AttributeError, TypeError, AssertionError) as e:
        raise ToolError(f"cannot convert {from_unit!r} to {to_unit!r}: {e}") from None
    magnitude = float(result.magnitude)
    text = f"{magnitude:.10g}" if abs(magnitude) < 1e15 else f"{magnitude:.6e}"
    return f"{text} {result.units:~P}".strip()
