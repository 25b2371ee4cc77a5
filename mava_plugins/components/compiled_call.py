"""A function compiled once for a fixed input signature, called with little Python overhead.

Executors call their policy's compiled function at every step, with small inputs. A
``tf.function`` with an ``input_signature`` still matches every call's arguments against the
signature and converts them through TensorFlow's general argument handling; on one core with
TensorFlow 2.8 that takes about as long as running a small MLP (``benchmarks/acting_throughput.py``
profiles it). :class:`CompiledCall` traces the function once, then calls the concrete function's
flat entry point with the arguments flattened, converted to the signature's dtypes and checked
against its shapes. Outputs keep the function's structure.

Where that entry point is missing (a TensorFlow other than the pinned one), calls go through the
``tf.function`` as before.
"""
from __future__ import annotations

from typing import Any, Callable

from mava_core.errors import MavaError


class CompiledCall:
    """``fn`` compiled for ``input_signature`` (nested ``tf.TensorSpec``s), called like ``fn``.

    Args:
        fn: the function to compile; its variables are created on the first (and only) trace.
        input_signature: a tuple of nested ``tf.TensorSpec``, one per positional argument.
        name: names the call in the error for a mismatched argument.
    """

    def __init__(self, fn: Callable[..., Any], input_signature: tuple, name: str = "compiled call"):
        import tensorflow as tf

        self._name = name
        self.function = tf.function(fn, input_signature=input_signature)
        concrete = self.function.get_concrete_function(*input_signature)
        self._specs = tf.nest.flatten(input_signature)
        self._flatten = tf.nest.flatten
        self._convert = tf.convert_to_tensor
        self._call_flat = getattr(concrete, "_call_flat", None)
        self._captured = concrete.captured_inputs

    def __call__(self, *args: Any) -> Any:
        if self._call_flat is None:
            return self.function(*args)
        flat = self._flatten(args)
        if len(flat) != len(self._specs):
            raise MavaError(f"{self._name}: got {len(flat)} input arrays, its signature has {len(self._specs)}")
        tensors = []
        for value, spec in zip(flat, self._specs):
            tensor = self._convert(value, spec.dtype)
            if not spec.shape.is_compatible_with(tensor.shape):
                raise MavaError(f"{self._name}: input of shape {tensor.shape} where {spec.shape} was expected")
            tensors.append(tensor)
        return self._call_flat(tensors, self._captured)
