"""Per-epoch history: records written by the training loop, read by anyone.

The history is a plain list of per-epoch records (dicts);
``pandas.DataFrame(estimator.history_)`` turns it into a table.
"""


def curve(history, key):
    """The values of ``key`` over the epochs that recorded it."""
    return [record[key] for record in history if key in record]


def print_record(record):
    """Verbose output: one line per epoch."""
    parts = [f"Epoch {record['epoch']}", f"loss {record['train_loss']:.6g}"]
    if "val_loss" in record:
        parts.append(f"val_loss {record['val_loss']:.6g}")
        scores = [key for key in record if key.startswith("val_") and key != "val_loss"]
        parts.extend(f"{key} {record[key]:.4f}" for key in scores)
    parts.append(f"lr {record['learning_rate']:.3g}")
    parts.append(f"{record['seconds']:.3f}s")
    print(" - ".join(parts))
