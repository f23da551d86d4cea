"""Per-epoch history and the plateau monitor that decides when to stop.

The history is a plain list of per-epoch records (dicts) written by the
training loop; ``pandas.DataFrame(estimator.history_)`` turns it into a table.
"""

import math


class Plateau:
    """Count epochs without improvement of a monitored loss.

    ``update(loss)`` returns True once ``patience`` epochs in a row failed to
    bring the loss below ``best - tol``, then starts counting again.

    Parameters
    ----------
    tol : float
        Smallest decrease that counts as an improvement.
    patience : int
        Number of epochs without improvement that make a plateau.
    """

    def __init__(self, tol, patience):
        self.tol, self.patience = tol, patience
        self.best, self.count = math.inf, 0

    def update(self, loss):
        """Record ``loss``; return whether training has reached a plateau."""
        self.count = 0 if loss < self.best - self.tol else self.count + 1
        self.best = min(self.best, loss)
        if self.count >= self.patience:
            self.count = 0
            return True
        return False


def curve(history, key):
    """The values of ``key`` over the epochs that recorded it."""
    return [record[key] for record in history if key in record]


def print_record(record):
    """Verbose output: one line per epoch."""
    parts = [f"Epoch {record['epoch']}", f"loss {record['train_loss']:.6g}"]
    if "val_loss" in record:
        parts.append(f"val_loss {record['val_loss']:.6g}")
        parts.append(f"val_r2 {record['val_r2']:.4f}")
    parts.append(f"lr {record['learning_rate']:.3g}")
    parts.append(f"{record['seconds']:.3f}s")
    print(" - ".join(parts))
