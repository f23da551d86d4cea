"""Reading the CSV of ``skgd study``: its encoding and its header.

A file that is not UTF-8 is read as latin-1 with a note, unless
``--encoding`` names its encoding; repeated column names are read as pandas
renames them, with a note.
"""

from .._exceptions import StudyError


def read_csv(path, encoding=None, **options):
    """The CSV as a DataFrame, and a note when it was read as latin-1.

    Without ``encoding``, a file that is not UTF-8 is read again as latin-1
    (every byte is a character there: such a file is most often latin-1 or
    Windows' cp1252, which differ only in a few symbols such as the euro).
    """
    try:
        import pandas as pd
    except ImportError:
        raise StudyError('--data needs pandas: pip install "skgd[study]"') from None
    try:
        try:
            return pd.read_csv(path, encoding=encoding or "utf-8", **options), ()
        except UnicodeDecodeError as exc:
            if encoding is not None:
                raise StudyError(_decode_error(path, encoding, exc)) from None
        note = (
            f"{path} is not UTF-8: reading it as latin-1; pass --encoding "
            "(such as cp1252 or utf-16) if its text looks wrong"
        )
        return pd.read_csv(path, encoding="latin-1", **options), (note,)
    except FileNotFoundError:
        raise StudyError(f"no such file: {path}") from None
    except pd.errors.EmptyDataError:
        raise StudyError(f"no data in {path}") from None
    except LookupError:
        raise StudyError(f"unknown --encoding {encoding!r}") from None
    except (OSError, UnicodeError, pd.errors.ParserError) as exc:
        raise StudyError(f"cannot read {path}: {exc}") from None


def _decode_error(path, encoding, exc):
    byte = exc.object[exc.start : exc.start + 1].hex()
    return (
        f"cannot read {path} as {encoding}: byte 0x{byte} at position "
        f"{exc.start} is not {encoding}; pass the file's --encoding"
    )


def renamed_columns(frame, path, target, encoding):
    """Notes on repeated column names, which pandas renames ``a.1``, ``a.2``...

    A repeated target name is refused: ``--target`` could not tell which.
    """
    header, _ = read_csv(
        path, encoding, header=None, nrows=1, dtype=str, keep_default_na=False
    )
    names = [str(name) for name in header.iloc[0]] if len(header) else []
    if len(names) != frame.shape[1]:
        return ()  # not the header pandas read (a parsing option differs)
    repeated = {name for name in names if name and names.count(name) > 1}
    if target in repeated:
        raise StudyError(
            f"{names.count(target)} columns of {path} are named {target!r}: "
            "rename them so that --target names one"
        )
    renamed = [
        f"{name!r} (column {i + 1}) as {str(read)!r}"
        for i, (name, read) in enumerate(zip(names, frame.columns))
        if name in repeated and name != str(read)
    ]
    if not renamed:
        return ()
    return (
        f"column names repeated in {path}: reading {', '.join(renamed)}; "
        "rename the columns to choose the names",
    )
