"""Optional packages' classes, looked up without importing them."""
import sys
from typing import Any, Callable, Optional


def lazy_class(module_path: str,
               class_name: str) -> Callable[[], Optional[type]]:
    """A getter for an optional package's class, without importing it.

    The class is looked up in ``sys.modules`` only: no object can be an
    instance of a class whose module was never imported, so asking costs
    no import (mmseg's or mmpretrain's modules are not pulled in for a
    run of the other) and changes nothing.

    Args:
        module_path (str): The module that defines the class.
        class_name (str): The class's name.
    """

    def get() -> Optional[type]:
        module = sys.modules.get(module_path)
        return getattr(module, class_name, None) if module else None

    return get


def is_instance(obj: Any, getter: Callable[[], Optional[type]]) -> bool:
    """``isinstance`` against an optional class (False where its package
    was never imported)."""
    cls = getter()
    return cls is not None and isinstance(obj, cls)
