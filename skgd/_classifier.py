"""The scikit-learn side of the classifiers: labels, class weights, probabilities.

:class:`ClassifierGD` turns labels into the targets of a classification task
(:class:`skgd._tasks.Classification`), multiplies the sample weights by the
class weights, and turns the network's output back into labels and
probabilities. Everything else is :class:`skgd._base.BaseGD`'s.
"""

import functools
import types

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import column_or_1d

from ._base import BaseGD
from ._compat import StrOptions, fit_context
from ._losses import CLASSIFICATION_LOSSES, SoftmaxLogLoss
from ._tasks import Classification

# The targets of a classifier (scikit-learn's check_classification_targets).
_LABEL_KINDS = (
    "binary",
    "multiclass",
    "multiclass-multioutput",
    "multilabel-indicator",
    "multilabel-sequences",
)


def _has_proba(estimator):
    """``predict_proba`` exists unless the loss has no probability model."""
    if estimator.loss == "hinge":
        raise AttributeError(
            "probability estimates are not available for loss='hinge'; use "
            "loss='log_loss' or 'modified_huber', or decision_function."
        )
    return True


class _unless_balanced:
    """A method (``partial_fit``) that does not exist with ``class_weight="balanced"``.

    A call sees a part of the data only, so it cannot know the class
    frequencies that ``"balanced"`` divides by (scikit-learn's
    ``SGDClassifier`` refuses it too). Unavailable rather than failing, so
    that scikit-learn's tools and checks see an estimator without it; unlike
    :func:`~sklearn.utils.metaestimators.available_if`, the AttributeError
    itself says why and what to do.
    """

    def __init__(self, method):
        self.method = method
        functools.update_wrapper(self, method)

    def __get__(self, obj, owner=None):
        if obj is None:
            return self.method
        _refuse_balanced(obj)
        return types.MethodType(self.method, obj)


def _refuse_balanced(estimator):
    weight = estimator.class_weight
    if isinstance(weight, str) and weight == "balanced":
        raise AttributeError(
            "partial_fit is not available with class_weight='balanced': a call "
            "sees only part of the data, so the class frequencies are unknown. "
            "Compute the weights once from the labels of all the data (or a "
            "large sample of them), with sklearn.utils.class_weight."
            "compute_class_weight('balanced', classes=classes, y=y), and pass "
            "them as class_weight=dict(zip(classes, weights))."
        )


class ClassifierGD(ClassifierMixin, BaseGD):
    """Base class of the classifiers: class labels and a classification loss."""

    _parameter_constraints = {
        **BaseGD._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }
    _y_checks = {"multi_output": True}
    _takes_multilabel = False  # whether an indicator matrix y is accepted

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Class weights are not defined for multilabel targets.
        multilabel = self._takes_multilabel and self.class_weight is None
        tags.target_tags.multi_output = multilabel
        tags.classifier_tags.multi_label = multilabel
        return tags

    @_unless_balanced
    @fit_context
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Run one epoch over ``(X, y)``, continuing from the current state.

        Weights, optimizer state, schedule and random generators carry over
        from the previous ``fit`` or ``partial_fit``; ``epochs``,
        ``early_stopping``, ``validation_fraction``, ``random_state`` and
        ``warm_start`` do not apply, and no data is held out. Every other
        parameter changed in between takes effect in the next call (a float
        ``learning_rate`` too; ``"auto"`` keeps the step it resolved first).
        With ``epoch_size``, the calls are chunks of one stream.

        Not available with ``class_weight="balanced"`` (a call sees only part
        of the data): pass the weights as a dict, computed from all the labels
        by :func:`sklearn.utils.class_weight.compute_class_weight`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels (or a multilabel indicator matrix).
        classes : array-like of shape (n_classes,), default=None
            Every class of the whole problem. Required on the first call (a
            chunk may lack some classes); later calls may repeat it but not
            change it. For multilabel ``y``, ``arange(n_labels)``.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights.

        Returns
        -------
        self : object
            The updated estimator.
        """
        if classes is None and not hasattr(self, "history_"):
            raise ValueError(
                "classes must be passed on the first call to partial_fit: every "
                "class of the problem, e.g. classes=np.unique(y_all)."
            )
        return self._train(X, y, sample_weight, self._partial_start(), classes)

    def predict(self, X):
        """Predict class labels (dropout is off).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Labels from ``classes_`` (the 0/1 indicator matrix when fitted on
            multilabel targets).
        """
        output = self._output(X)  # checks that the model is fitted first
        return self._task().decode(output)

    @available_if(_has_proba)
    def predict_proba(self, X):
        """Probability estimates of the classes (dropout is off).

        ``loss="log_loss"`` gives the sigmoid (two classes, or each label of
        multilabel targets) or the softmax of the output;
        ``loss="modified_huber"`` gives scikit-learn's ``SGDClassifier``
        estimates. ``loss="hinge"`` has none.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        output = self._output(X)
        return self._task().proba(output)

    @available_if(_has_proba)
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    # -- targets ----------------------------------------------------------------

    def _make_task(self, classes, multilabel):
        """The task for ``classes``: one output column for two classes (but
        per label when multilabel), one per class otherwise, where the
        log-loss is the softmax cross-entropy."""
        softmax = self.loss == "log_loss" and len(classes) > 2 and not multilabel
        loss = SoftmaxLogLoss() if softmax else CLASSIFICATION_LOSSES[self.loss]()
        return Classification(loss, classes, multilabel)

    def _n_outputs(self):
        return (
            1
            if len(self.classes_) == 2 and not self._multilabel
            else len(self.classes_)
        )

    def _task(self):
        return self._make_task(self.classes_, self._multilabel)

    def _training_task(self, y, sample_weight, resumes, classes):
        multilabel = self._check_targets(y)
        y = y if multilabel else column_or_1d(y, warn=True)
        classes = self._classes(y, multilabel, resumes, classes)
        task = self._make_task(classes, multilabel)
        return task, y, self._weights(y, sample_weight, classes, multilabel)

    def _check_targets(self, y):
        """Whether ``y`` is multilabel; refuses continuous or unsupported targets."""
        kind = type_of_target(y, input_name="y")
        if kind not in _LABEL_KINDS:  # as check_classification_targets, once
            raise ValueError(
                f"Unknown label type: {kind}. Maybe you are trying to fit a "
                "classifier, which expects discrete classes on a regression "
                "target with continuous values."
            )
        if kind == "multilabel-indicator" and not self._takes_multilabel:
            raise ValueError(
                f"{type(self).__name__} does not take multilabel targets (y of "
                f"shape {y.shape}); use skgd.MLPClassifier, or "
                "sklearn.multioutput.MultiOutputClassifier."
            )
        if y.ndim == 2 and kind != "multilabel-indicator" and y.shape[1] != 1:
            raise ValueError(
                f"y of shape {y.shape} is {kind}, which "
                f"{type(self).__name__} does not take; pass one label per "
                "sample, or a 0/1 indicator matrix for multilabel targets."
            )
        return kind == "multilabel-indicator"

    def _classes(self, y, multilabel, resumes, classes):
        """The classes of the fit: given, fitted, or those of ``y``."""
        labels = np.arange(y.shape[1]) if multilabel else np.unique(y)
        if resumes and multilabel != self._multilabel:
            kinds = ("one label per sample", "multilabel targets")
            raise ValueError(
                f"{type(self).__name__} was fitted on {kinds[self._multilabel]} "
                f"and is given {kinds[multilabel]}; call fit with "
                "warm_start=False to start afresh."
            )
        if classes is not None:
            classes = np.unique(classes)
            if resumes and not np.array_equal(classes, self.classes_):
                raise ValueError(
                    f"classes={classes.tolist()} differs from the classes_ "
                    f"{self.classes_.tolist()} of the previous calls; pass the "
                    "same classes, or call fit to start afresh."
                )
        elif resumes:
            classes = self.classes_
        else:
            classes = labels
        if multilabel:
            if len(classes) != y.shape[1]:
                raise ValueError(
                    f"y has {y.shape[1]} labels but classes has {len(classes)}; "
                    "for multilabel y, pass classes=np.arange(n_labels)."
                )
            return classes
        unseen = np.setdiff1d(labels, classes)
        if len(unseen):
            raise ValueError(
                f"y contains labels {unseen.tolist()} that are not in classes "
                f"{classes.tolist()}; pass every class of the problem in "
                "classes, or call fit to start afresh."
            )
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes, but "
                f"the data contains only one class: {classes[0]!r}."
            )
        return classes

    def _weights(self, y, sample_weight, classes, multilabel):
        """Sample weights times the class weights of their labels."""
        if self.class_weight is None:
            return sample_weight
        if multilabel:
            raise ValueError(
                "class_weight is not defined for multilabel targets; pass "
                "sample_weight instead, or class_weight=None."
            )
        codes = np.searchsorted(classes, y)
        weights = class_weights(self.class_weight, classes, codes, sample_weight)
        per_sample = weights[codes]
        return per_sample if sample_weight is None else sample_weight * per_sample


def class_weights(class_weight, classes, codes, sample_weight=None):
    """The weight of each class: from a dict, or ``"balanced"``.

    ``"balanced"`` gives each class present in ``codes`` the same total
    weight: class ``k`` weighs ``S / (K * S_k)``, with ``S_k`` the total
    sample weight of its samples, ``S`` that of all and ``K`` the number of
    classes present (``n_samples / (n_classes * count)`` without sample
    weights, scikit-learn's rule). Only ``fit`` uses it: ``partial_fit`` is
    not available with ``"balanced"``.
    """
    if isinstance(class_weight, str):  # "balanced"
        s = np.ones(len(codes)) if sample_weight is None else sample_weight
        totals = np.bincount(codes, weights=s, minlength=len(classes))
        present = totals > 0
        weights = np.ones(len(classes))
        weights[present] = totals.sum() / (present.sum() * totals[present])
        return weights
    labels = classes.tolist()
    unknown = [label for label in class_weight if label not in labels]
    weights = np.array([class_weight.get(label, 1.0) for label in labels], float)
    if unknown or not np.all(np.isfinite(weights) & (weights >= 0)):
        raise ValueError(
            f"class_weight={class_weight!r} must map labels among the classes "
            f"{labels} to finite non-negative weights; labels not named weigh 1."
        )
    return weights
