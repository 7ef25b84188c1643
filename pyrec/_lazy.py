"""Lazy public names for pyrec's packages (PEP 562), so ``import pyrec.x`` stays cheap.

One helper instead of a ``__getattr__``/``__dir__`` pair in every ``__init__.py``; the shape follows
scientific-python's ``lazy_loader.attach``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["attach"]


def attach(
    package: str, names: dict[str, str], eager: Iterable[str] = ()
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """Module-level ``__getattr__``, ``__dir__`` and ``__all__`` for ``package``.

    Args:
        package: the package's ``__name__``.
        names: public name -> absolute module that defines it; imported on first access, then
            cached as a package attribute.
        eager: names the package already defines (listed in ``__all__`` too).

    Returns:
        ``(__getattr__, __dir__, __all__)``; ``__getattr__`` raises ``AttributeError`` for
        unknown names, as Python does.

    Usage::

        __getattr__, __dir__, __all__ = attach(__name__, {"Trainer": "pyrec.train.trainer"})
    """
    public = [*eager, *(n for n in names if n not in set(eager))]

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(public)

    return __getattr__, __dir__, public
