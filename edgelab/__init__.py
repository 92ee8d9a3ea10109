"""edgelab: the library behind the Edge AI course.

``import edgelab`` is light: it never imports TensorFlow. Submodules that need heavy
packages import them inside the functions that use them.
"""

from edgelab.errors import EdgelabError, ModelError, RuntimeMissingError
from edgelab.runtime import LoadedModel, find_backend, load_interpreter

__version__ = "0.1.0"

__all__ = [
    "EdgelabError",
    "LoadedModel",
    "ModelError",
    "RuntimeMissingError",
    "__version__",
    "find_backend",
    "load_interpreter",
]
