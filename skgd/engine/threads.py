"""How many BLAS threads a fit's matrix products get.

A small network's matrix products take microseconds; handing each to a pool
of BLAS threads costs more than it saves, and when other processes keep the
cores busy the pool's threads wait for each other at every product (a small
MLP fit under two busy processes took 1.9 times its quiet time). So a fit
whose largest matrix product per batch is small runs on one BLAS thread;
larger ones keep the pool as it is set. The compiled kernels of the linear
models use no threads.
"""

from contextlib import nullcontext

from .._layers import Center

# Multiply-adds of a batch's largest matrix product below which a fit runs on
# one BLAS thread: about a millisecond of one core's work.
SMALL_PRODUCT = 1 << 21

_controller = None


def largest_product(net, batch_rows):
    """Multiply-adds of the largest matrix product of a batch of ``net``."""
    sizes = [layer.weight_shape() for layer in net.weighted_layers]
    return batch_rows * max((n_in * n_out for n_in, n_out in sizes), default=0)


def blas_threads_for(net, batch_rows):
    """A context that limits BLAS to one thread when the fit's products are small.

    A no-op for the networks of one layer (linear models, their features
    centered or not), which train in compiled kernels, and for large products.
    """
    layers = [layer for layer in net.layers if not isinstance(layer, Center)]
    if len(layers) == 1 or largest_product(net, batch_rows) > SMALL_PRODUCT:
        return nullcontext()
    return one_blas_thread()


def one_blas_thread():
    """A context in which BLAS runs on one thread (threadpoolctl's limit).

    The loaded libraries are scanned once per process: a scan takes
    milliseconds, which a small stacked run would pay at every call.
    """
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")
