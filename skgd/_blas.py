"""BLAS kernels used on the hot path, looked up once per dtype.

``axpy(x, y, a=a)`` computes ``y += a * x`` in place on contiguous vectors in a
single call, where numpy needs a temporary and two calls.
"""

import numpy as np
from scipy.linalg import blas

AXPY = {np.dtype(np.float64): blas.daxpy, np.dtype(np.float32): blas.saxpy}
