"""Build a registered part (a loss, an optimizer, a schedule) from parameters.

Each of those modules keeps one ``name -> class`` dict (``LOSSES``,
``OPTIMIZERS``, ``SCHEDULES``), which serves both for lookup and for the
estimators' parameter validation. A class names, in ``settings``, the
estimator parameters its constructor takes, so a part is built without an
if/else over names and a new part needs one entry and nothing else.
"""


def build(registry, name, params, *args):
    """``registry[name](*args, **settings)``, the settings taken from ``params``.

    Parameters
    ----------
    registry : dict of str to class
    name : str
    params : mapping
        Holds at least the parameters listed in the class's ``settings``.
    *args
        Positional arguments before the settings (a schedule's initial rate).
    """
    cls = registry[name]
    return cls(*args, **{key: params[key] for key in cls.settings})
