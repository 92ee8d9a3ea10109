"""Run by tests/test_quiet.py in a fresh process, because native libraries log some lines once
per process (LiteRT's "Created TensorFlow Lite XNNPACK delegate for CPU").

Usage: ``python tests/native_log_probe.py MODE [MODEL.tflite]`` with MODE one of

* ``edgelab-interpreter``: load MODEL with ``edgelab.load_interpreter`` and run it once;
* ``litert-interpreter``: the same straight through LiteRT (the control: it logs);
* ``edgelab-keras``: build the digits CNN through ``edgelab.models`` (imports TensorFlow);
* ``tensorflow``: import TensorFlow and run one op without edgelab (the control);
* ``mixed``: inside ``edgelab.quiet.native_logs_silenced``, write one line to fd 2 and one
  to Python's ``sys.stderr``.
"""

from __future__ import annotations

import os
import sys

import numpy as np


def run_once(interpreter) -> None:
    detail = interpreter.get_input_details()[0]
    interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
    interpreter.invoke()


def main(argv: list[str]) -> int:
    mode = argv[0]
    if mode == "edgelab-interpreter":
        from edgelab import load_interpreter

        run_once(load_interpreter(argv[1]).interpreter)
    elif mode == "litert-interpreter":
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_path=argv[1])
        interpreter.allocate_tensors()
        run_once(interpreter)
    elif mode == "edgelab-keras":
        from edgelab import models

        models.build_digits_cnn(seed=0)
    elif mode == "tensorflow":
        import tensorflow as tf

        tf.constant([1.0]) + 1.0
    elif mode == "mixed":
        from edgelab import quiet

        with quiet.native_logs_silenced():
            os.write(2, b"native line\n")
            print("python line", file=sys.stderr)
    else:
        print(f"mode must be one of the modes in {__file__}'s docstring; got {mode!r}", file=sys.stderr)
        return 2
    print("done")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
