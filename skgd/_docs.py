"""Docstring entries that several estimators share, written once.

:data:`PARAMETERS` and :data:`ATTRIBUTES` hold numpydoc entries by name. A
docstring pulls entries in with a line of its own such as
``{{epochs loss huber_delta}}``, and :func:`shared_docs`, applied to the class,
replaces that line by the entries, in that order, at the line's indentation.
An unknown name raises at import.

To document a new estimator: decorate it with ``@shared_docs``, use
placeholders for the entries whose text is true for it word for word, and
write the others (different defaults or meaning) in its own docstring. Edit
an entry here only if the new text holds for every estimator using it.
"""

import re


def _entries(text):
    """Split a numpydoc section body into ``{name: entry}``."""
    blocks = re.split(r"\n(?=\S)", text.strip("\n"))
    return {block.split(" : ")[0]: block for block in blocks}


PARAMETERS = _entries(r"""
epochs : int, default=200
    Passes over the training set (the maximum when training stops early;
    200 as ``max_iter`` of scikit-learn's ``MLPRegressor`` and
    ``MLPClassifier``).
loss : {"squared_error", "huber"}, default="squared_error"
    Per-sample loss :math:`\ell`: half the squared error, or the Huber loss,
    quadratic for residuals up to ``huber_delta`` and linear beyond, which
    makes it robust to outliers.
huber_delta : float, default=1.0
    Threshold of the Huber loss, in the units of ``y``; only used with
    ``loss="huber"``.
class_weight : dict, "balanced" or None, default=None
    Weights of the classes, ``{label: weight}``; classes not named weigh 1.
    ``"balanced"`` weighs each class ``n_samples / (n_classes *
    count)``, from the labels given to ``fit``; ``partial_fit``, which sees
    a part of the data, is not available with it (pass the weights of
    :func:`sklearn.utils.class_weight.compute_class_weight` as a dict).
    The weight :math:`s_i` of a sample in the objective is its
    ``sample_weight`` times the weight of its class, taken relative to the
    mean of :math:`s_i` over the training samples; so scaling every class
    weight by the same factor changes nothing.
momentum : float in [0, 1), default=0.0
    Momentum of ``"sgd"``: the velocity ``v <- momentum * v + g`` replaces
    the gradient ``g`` in the step: ``w <- w - lr * v``.
nesterov : bool, default=False
    Use Nesterov's momentum with ``"sgd"``: the step is
    ``w <- w - lr * (g + momentum * v)``, with ``v`` already updated.
beta_1 : float in [0, 1), default=0.9
    Decay of Adam's first-moment estimate.
beta_2 : float in [0, 1), default=0.999
    Decay of Adam's second-moment estimate.
epsilon : float, default=1e-8
    Adam's numerical-stability term.
lr_schedule : {"constant", "invscaling", "adaptive", "cosine"}, default="constant"
    How the step changes during training. ``"constant"``: always
    ``learning_rate``. ``"invscaling"``: ``learning_rate / (t + 1) **
    power_t`` at update ``t``. ``"cosine"``: ``learning_rate * (1 +
    cos(pi * e / epochs)) / 2`` in epoch ``e`` (restarting after
    ``epochs`` epochs). ``"adaptive"``: ``learning_rate`` divided by 5 each
    time the monitored loss reaches a plateau (see ``tol``; with ``tol=None``
    a window without any decrease); training then stops only once
    the rate has fallen by a factor of a million (never if ``tol`` is
    None). The schedule starts with each ``fit`` and continues across
    ``partial_fit`` calls.
power_t : float, default=0.5
    Exponent of ``"invscaling"``.
average : bool or "auto", default="auto"
    Whether the fitted weights are the average of the iterates rather than
    the last one. The average is weighted toward recent updates (the
    polynomial-decay average of Shamir & Zhang, 2013: after update :math:`t`
    it moves :math:`\rho_t = 4 / (t + 3)` of the way to the new iterate, so
    iterate :math:`s` weighs about :math:`s^3`). With a constant step,
    mini-batch SGD ends in a cloud of iterates around the optimum, wider the
    larger the step; their average lies at the centre of the cloud, and for
    least squares converges to the optimum itself (Bach & Moulines, 2013).
    ``"auto"`` averages when training by mini-batches smaller than the
    training set (for a stream, than ``epoch_size``), and not for full-batch
    descent, which has no such noise; ``partial_fit`` continuing a fit
    averages if that fit did. Training steps from the last iterate (kept in
    the training state for ``partial_fit``); the averaged weights are what
    is scored on held-out data, restored by early stopping, recorded in
    ``trajectory_`` and returned. The recorded training loss stays the
    running mean of the mini-batch objective over the epoch's iterates.
    ``warm_start`` continues from the averaged weights.
shuffle : bool, default=True
    Reshuffle the training samples before every epoch.
verbose : int, default=0
    If positive, print a line per epoch.
early_stopping : bool, default=False
    Hold out ``validation_fraction`` of the training data, stop when the
    validation loss reaches a plateau (see ``tol``), and restore the
    parameters of the epoch with the lowest validation loss.
validation_fraction : float in (0, 1) or None, default=None
    Fraction of the training data held out, scored after every epoch
    (``validation_scores_`` and the history), rounded up, and at least two
    samples (for a classifier, at least one of each class: the split is
    stratified). ``None`` holds out 0.1 with
    ``early_stopping=True`` and nothing otherwise; a float holds data out
    even without early stopping, to watch the generalization gap.
n_iter_no_change : int or np.inf, default=10
    The window, in epochs, over which the progress of the monitored loss
    (validation loss with early stopping, training objective otherwise) is
    judged (see ``tol``); ``np.inf`` never ends training, as in
    scikit-learn (with early stopping, the best epoch is still restored).
tol : float or None, default=1e-4
    Relative tolerance of the stopping rule: training stops (or, with
    ``lr_schedule="adaptive"``, lowers the rate) once the lowest monitored
    loss has fallen by less than ``tol`` times itself over the last
    ``n_iter_no_change`` epochs. Relative, so that it means the same at
    every scale of the loss; over a window, so that a descent still making
    steady small steps is not stopped. In full-batch descent without
    dropout, whose losses carry no sampling noise, the losses of the window
    must also have settled, all within ``tol`` times the lowest, so that a
    descent swinging above its best (Adam's, say) goes on. Progress and
    swings below ``1e-12`` times the first epoch's loss do not count (near
    an exact fit, Adam at a constant step only stirs rounding). ``None``
    never stops early: exactly ``epochs`` epochs run.
scale_target : bool, default=True
    Train on the standardized target ``(y - mean) / scale`` (the weighted
    mean of each output, zero without an intercept; one ``scale`` for all
    outputs, the power of two nearest the root of their mean weighted
    variance, over the rows ``fit`` is given), so that the intercept starts
    at the mean, and report the weights, the losses and the predictions in
    ``y``'s units: a target far from zero (a price, a year, a temperature
    in kelvin) or on any scale trains as well as a standardized one.
    ``GDRegressor`` on dense data also centers the features, as Ridge does,
    a batch at a time without a copy (with the squared error its intercept
    is then Ridge's, ``mean - x_mean @ coef_``, not trained); its objective
    and optimum do not change (``alpha`` and ``huber_delta`` stay in
    ``y``'s units). Adam's float ``learning_rate`` is in the standardized
    units.
    ``MLPRegressor`` minimizes the objective of the standardized target:
    ``alpha`` is relative to the spread of ``y``. ``False`` trains on ``y``
    and ``X`` as they are: the textbook step of the objective above.
    ``partial_fit`` keeps the scale and means of its first call. See the
    user guide, "Targets far from zero".
record_trajectory : bool, default=False
    Record the parameters after every epoch in ``trajectory_`` (for
    :class:`~skgd.LossLandscapeDisplay`, say). Off by default: it keeps
    a copy of all parameters per epoch.
epoch_size : int or None, default=None
    How ``partial_fit`` counts epochs; ``fit`` ignores it. ``None``: each
    call is one epoch over the data it is given (scikit-learn's
    convention). An int: the calls are consecutive chunks of one stream,
    cut into mini-batches across call boundaries (rows that do not fill a
    batch wait, copied, for the next call), and an epoch ends after every
    ``epoch_size`` rows, with its record in ``history_`` and its step of
    per-epoch schedules. Without shuffling, chunks adding up to
    ``epoch_size`` rows train exactly like one epoch of ``fit`` over their
    concatenation; with ``shuffle=True`` each chunk is shuffled on its own.
    See :doc:`/scaling`.
""")

# Entries of the multilayer perceptrons (the linear models write their own
# learning_rate, batch_size, dropout, random_state and warm_start).
PARAMETERS.update(
    _entries(r"""
hidden_layer_sizes : int or array-like of int, default=(100,)
    Width of each hidden layer; ``()`` gives a linear model (on which
    ``dropout`` has no layer to act).
learning_rate : float or "auto", default=1e-3
    Step size of the optimizer (scaled by the schedule). ``"auto"`` means
    ``1e-3``, scikit-learn's ``learning_rate_init``; no curvature bound
    exists for a network. The step used is stored in ``learning_rate_``.
batch_size : int or None, default=200
    Samples per mini-batch; ``None`` means full-batch gradient descent. A
    value above the number of training samples is clipped to it.
dropout : float in [0, 1) or array-like of float, default=0.0
    Inverted dropout rate of the hidden activations in training: one rate
    for every hidden layer, or one per hidden layer. Kept activations are
    scaled by :math:`1 / (1 - p)`; rates are rounded to a multiple of
    1/65536 (masks use 16 random bits per entry).
input_dropout : float in [0, 1), default=0.0
    Inverted dropout rate of the input features in training.
weight_init : {"glorot_uniform", "he_uniform"}, default="glorot_uniform"
    Initial weights. ``"glorot_uniform"`` follows scikit-learn's MLP
    (weights and intercepts uniform in :math:`\pm\sqrt{6 / (n_{in} +
    n_{out})}`, with 2 instead of 6 for ``"logistic"``);
    ``"he_uniform"`` draws weights in :math:`\pm\sqrt{6 / n_{in}}` and
    starts intercepts at zero.
random_state : int, RandomState instance or None, default=None
    Seeds the random generator of the validation split, the initial
    weights and the shuffles, which depend on it alone (and on the
    architecture), never on the dropout rates: each dropout layer draws
    its masks from its own stream derived from the seed, so changing a
    dropout rate changes no shuffle, split or initial weight, and no other
    layer's masks (common random numbers when comparing fits).
warm_start : bool, default=False
    If True and the estimator is fitted, ``fit`` continues from
    ``coefs_`` and ``intercepts_`` (including ones assigned by hand after
    the fit), with a fresh optimizer and schedule; the history grows. The
    architecture must stay the one the weights were fitted with.
""")
)

ATTRIBUTES = _entries(r"""
learning_rate_ : float
    The initial step size actually used (``"auto"`` resolved).
n_features_in_ : int
    Number of features seen during ``fit``.
feature_names_in_ : ndarray of shape (`n_features_in_`,)
    Names of features seen during ``fit``, when ``X`` has string column
    names.
n_iter_ : int
    Epochs run since the last ``fit`` from scratch (a warm start or
    ``partial_fit`` adds to it).
t_ : int
    Parameter updates (mini-batch steps) made, counted likewise.
loss_curve_ : list of float
    Training objective :math:`J` per epoch: the mean of the mini-batch
    objectives met during the epoch (penalty included, dropout active),
    weighted by batch size.
best_loss_ : float
    Lowest value in ``loss_curve_``.
validation_scores_ : list of float or None
    The score on the held-out split after each epoch (R² for a regressor,
    the accuracy for a classifier); None if nothing is held out.
best_validation_score_ : float or None
    The score of the epoch with the lowest validation loss in ``history_``
    (after a fit from scratch with early stopping, the epoch whose
    parameters are kept); None if nothing is held out.
history_ : list of dict
    One record per epoch with keys ``epoch``, ``t`` (updates so far),
    ``train_loss``, and, only with a held-out split, ``val_loss`` (the
    loss without penalty or dropout) and ``val_r2`` (regressors) or
    ``val_accuracy`` (classifiers), then ``learning_rate`` (in force at
    the epoch's last update) and ``seconds``.
    ``pandas.DataFrame(history_)`` makes it a table.
coefs_ : list of ndarray
    Weight matrices; ``coefs_[k]`` has shape (n_in, n_out) of layer k.
intercepts_ : list of ndarray
    Intercept vectors; ``intercepts_[k]`` has shape (n_out,).
n_layers_ : int
    Number of layers, input and output included.
n_outputs_ : int
    Number of outputs.
trajectory_ : ndarray of shape (``n_iter_`` + 1, n_params) or None
    With ``record_trajectory=True``, the parameters before training (row
    0) and after each epoch, each row layer by layer the weight matrix
    (``coefs_[k]`` flattened row by row) followed by ``intercepts_[k]``.
    A warm start or ``partial_fit`` appends its epochs. None otherwise.
classes_ : ndarray of shape (n_classes,)
    The class labels, sorted (``arange(n_labels)`` for multilabel targets).
""")

_SHARED = {**PARAMETERS, **ATTRIBUTES}
_PLACEHOLDER = re.compile(r"^([ \t]*)\{\{([^{}]*)\}\}[ \t]*$", re.MULTILINE)


def fill(doc):
    """Return ``doc`` with every placeholder line replaced by its entries.

    Parameters
    ----------
    doc : str
        A docstring with placeholder lines such as ``    {{epochs tol}}``.

    Returns
    -------
    str
        The docstring with the named entries, indented like the placeholder.

    Examples
    --------
    >>> print(fill("    {{power_t}}"))
        power_t : float, default=0.5
            Exponent of ``"invscaling"``.
    """

    def entries(match):
        indent, names = match.group(1), match.group(2).split()
        unknown = [name for name in names if name not in _SHARED]
        if unknown or not names:
            raise KeyError(
                f"No shared docstring entry named {unknown or names!r} in "
                f"skgd._docs; known are {sorted(_SHARED)}."
            )
        text = "\n".join(_SHARED[name] for name in names)
        return "\n".join(indent + line if line else line for line in text.split("\n"))

    filled = _PLACEHOLDER.sub(entries, doc)
    if "{{" in filled:
        raise ValueError(
            "A '{{' is left in the docstring: a placeholder must be a line of its "
            "own, '{{name ...}}'."
        )
    return filled


def shared_docs(cls):
    """Class decorator: fill the placeholders of ``cls.__doc__`` (see :func:`fill`)."""
    cls.__doc__ = fill(cls.__doc__)
    return cls
