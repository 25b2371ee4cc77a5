"""Helpers shared by the loggers: the step a row belongs to and scalar conversion."""
from __future__ import annotations

import numbers
from typing import Any, Mapping, Optional, Tuple, Union

#: Keys tried, in order, for the x-axis step of a row.
STEP_KEYS = ("env_steps", "trainer_steps")

Number = Union[int, float]


def to_number(value: Any) -> Optional[Number]:
    """``value`` as a Python int or float, or ``None`` when it is not a numeric scalar.

    Accepts Python and NumPy numbers (bools become 0/1), 0-d arrays and scalar tensors.
    """
    if isinstance(value, str) or value is None:
        return None
    if hasattr(value, "numpy") and not hasattr(value, "item"):  # eager tensors
        value = value.numpy()
    if not isinstance(value, numbers.Number) and hasattr(value, "item"):
        if getattr(value, "size", 1) != 1 or getattr(value, "ndim", 0) != 0:
            return None
        value = value.item()
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return int(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return None


def step_of(values: Mapping[str, Any], writes: int) -> Tuple[str, int]:
    """The step key and value of a row: ``env_steps``, else ``trainer_steps``, else ``writes``."""
    for key in STEP_KEYS:
        number = to_number(values.get(key))
        if number is not None:
            return key, int(number)
    return "writes", writes
