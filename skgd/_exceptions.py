"""Exceptions raised by skgd."""


class DivergenceError(ValueError):
    """Training diverged: the loss or the parameters stopped being finite.

    Raised as soon as the training objective of a mini-batch is not finite,
    the parameters are not finite at the end of an epoch, or the objective
    climbs a million times above its starting value. The estimator keeps the
    state it had before the call, so no model with NaN parameters is ever
    returned. It subclasses :class:`ValueError`, so a grid search over
    learning rates records the candidate with its ``error_score`` and goes on.

    Examples
    --------
    >>> import numpy as np
    >>> from skgd import DivergenceError, GDRegressor
    >>> X = np.arange(20.0).reshape(-1, 1)
    >>> try:
    ...     GDRegressor(learning_rate=10.0, random_state=0).fit(X, X.ravel())
    ... except DivergenceError as exc:
    ...     print("diverged")
    diverged
    """


class StudyError(Exception):
    """Bad input to ``skgd study``, to be reported to the user in one line.

    Raised by the modules of :mod:`skgd.study` (loading the data, checking
    the options, the grids and the folds); the command prints it and exits
    with status 2. It is not part of the public API (``skgd`` does not
    export it).
    """


class FitInterruptedWarning(UserWarning):
    """Ctrl-C cut a ``fit`` short; the model is usable but trained less.

    On Ctrl-C (SIGINT, or a :class:`KeyboardInterrupt`) during ``fit``, an
    estimator stops at the last complete epoch, keeps the weights of that
    epoch (or those it started the call with, when none was complete), and
    warns with this class instead of raising, so that an interactive fit
    returns a usable model. A caller that must tell a complete fit from an
    interrupted one, such as a search over many fits, turns it into an
    error::

        with warnings.catch_warnings():
            warnings.simplefilter("error", FitInterruptedWarning)
            model.fit(X, y)  # raises FitInterruptedWarning on Ctrl-C

    It subclasses :class:`UserWarning`, so filters of that class apply.

    Examples
    --------
    >>> from skgd import FitInterruptedWarning
    >>> issubclass(FitInterruptedWarning, UserWarning)
    True
    """
